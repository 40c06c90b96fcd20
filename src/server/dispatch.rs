//! What answers a request, once it is read: on a listener that redirects, the way to HTTPS;
//! else, in this order, what the server answers before anything (`OPTIONS *`, `/metrics`, a
//! CORS preflight), basic auth, the redirects and rewrites, an upload, a file under the
//! static roots, which the server serves itself, and else the App, inside `catch_unwind` so
//! that a panic is a 500 for that request alone. The course's rule was "`.html` is dynamic,
//! everything else is a file"; this one is nginx's `try_files`. On the way out, the SPA
//! fallback, the site's error pages, the header rules and CORS mark the answer.

use std::panic::{self, AssertUnwindSafe};

use super::basic_auth::{Refusal, Verdict, CHALLENGE};
use super::header_rules;
use super::redirects::Routed;
use super::settings::ServerConfig;
use super::state::ServerState;
use super::static_files::{Cached, StaticFiles};
use super::upload::{is_upload, upload};
use crate::http::{accept_quality, App, Authority, Request, Response};

/// The answer to `req`: on a listener that redirects (`redirect`), the way to HTTPS; else
/// files first, then the App (nginx's `try_files $uri $uri/ @app`): a path that names a file
/// under the static root, or a folder with an `index.html`, is the server's whatever its
/// extension or method; every other request goes to the App. The site's pages (`/`,
/// `*.html`) are simply paths with no file behind them. A rewrite changes `req`'s path.
/// `verdict` is what basic auth made of the request's head, before its body was read.
pub(crate) fn dispatch(
    req: &mut Request,
    verdict: Verdict,
    state: &ServerState,
    app: &dyn App,
    redirect: Option<u16>,
) -> Response {
    if let Some(port) = redirect {
        return to_https(req, port);
    }
    let config = &state.config;
    let (resp, signed_in) = answer(req, verdict, state, app);
    let mut resp = state.error_pages.dress(resp);
    header_rules::apply(&config.header_rules, &req.path, &mut resp);
    if let Some(cors) = &config.cors {
        cors.mark(req, &mut resp);
    }
    if signed_in {
        // One user's answer is not for a shared cache, whatever a rule or the file said.
        let cache = resp.headers.get("Cache-Control").unwrap_or_default();
        let private = match cache.trim() {
            "" => "private".to_string(),
            c if c.contains("private") || c.contains("no-store") => c.to_string(),
            c if c.contains("public") => c.replace("public", "private"),
            c => format!("private, {c}"),
        };
        resp.headers.set("Cache-Control", private);
    }
    resp
}

/// The answer before the way out, and whether a user signed in for it.
fn answer(
    req: &mut Request,
    verdict: Verdict,
    state: &ServerState,
    app: &dyn App,
) -> (Response, bool) {
    let config = &state.config;
    if req.target == "*" {
        return (
            Response::new(204).with_header("Allow", "GET, HEAD, POST, OPTIONS"),
            false,
        );
    }
    if let Some(resp) = metrics(req, state, app) {
        return (resp, false);
    }
    if let Some(resp) = config.cors.as_ref().and_then(|c| c.preflight(req)) {
        return (resp, false);
    }
    let signed_in = match verdict {
        Verdict::Open => false,
        Verdict::SignedIn => true,
        Verdict::Refused(why) => return (unauthorized(req, &why), false),
    };
    let upload_asked = config.uploads.is_some() && is_upload(&req.method, req.raw_path());
    match config.rules.route(&req.path, &req.query) {
        Routed::Redirect(status, location) => {
            return (Response::redirect(status, &location), signed_in)
        }
        Routed::Rewrite { path, target } => {
            log::debug!("rewrote {} to {target}", req.target);
            req.path = path;
            req.target = target;
        }
        Routed::Unchanged => {}
    }
    let files = &state.static_files;
    if let (Some(uploads), true) = (&config.uploads, upload_asked) {
        return (upload(req, files, uploads), signed_in);
    }
    let resp = match files.lookup(req.raw_path()) {
        Cached::Missing => call_catching_panics(req, || app.call(req)),
        // A file's own errors (405, 412, 416) are the server's answers, on its own page, as
        // nginx answers them in front of an app: the app is never asked to dress them.
        found => files.serve(req, found),
    };
    (spa_fallback(req, files, config, resp), signed_in)
}

/// `GET /metrics` from an address `metrics_from` lists; `None` for every other request
/// (from anyone else, `/metrics` is a path like any other).
fn metrics(req: &Request, state: &ServerState, app: &dyn App) -> Option<Response> {
    let config = &state.config;
    if !config.metrics || req.path != "/metrics" || !matches!(req.method.as_str(), "GET" | "HEAD") {
        return None;
    }
    if !req
        .client
        .is_some_and(|ip| config.metrics_from.contains(ip))
    {
        return None;
    }
    let text = state.metrics.render(&state.live.counts(), &app.metrics());
    Some(
        Response::text(200, text)
            .with_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            .with_header("Cache-Control", "no-store"),
    )
}

/// A 401 that asks for credentials; the log says who and why, never the password.
fn unauthorized(req: &Request, why: &Refusal) -> Response {
    let client = req.client.map(|c| c.to_string()).unwrap_or_default();
    match why {
        // A browser asks without credentials first, every time: no news.
        Refusal::NoCredentials => log::debug!("{client}: 401 on {}: {why}", req.path),
        _ => log::warn!("{client}: 401 on {}: {why}", req.path),
    }
    Response::error_page(401).with_header("WWW-Authenticate", CHALLENGE)
}

/// With `fallback` (`--spa`), that file in place of a 404 for a page: a `GET` or `HEAD` that
/// accepts HTML, for a path whose last segment has no extension. A missing asset
/// (`/app.js`) and other methods keep their 404.
fn spa_fallback(
    req: &Request,
    files: &StaticFiles,
    config: &ServerConfig,
    resp: Response,
) -> Response {
    let Some(file) = &config.fallback else {
        return resp;
    };
    let page = matches!(req.method.as_str(), "GET" | "HEAD")
        && !req
            .path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .contains('.')
        && accept_quality(req.header("Accept"), "text/html") > 0.0;
    if resp.status != 404 || !page {
        return resp;
    }
    match files.lookup(file) {
        found @ Cached::File(_) => files.serve(req, found),
        _ => resp,
    }
}

/// Calls into the App; a panic becomes a 500 for this request alone.
fn call_catching_panics(req: &Request, call: impl FnOnce() -> Response) -> Response {
    match panic::catch_unwind(AssertUnwindSafe(call)) {
        Ok(resp) => resp,
        Err(cause) => {
            let what = cause
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| cause.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            log::error!("app panicked on {} {}: {what}", req.method, req.target);
            Response::error_page(500)
        }
    }
}

/// The way from `http://` to `https://` for the same host and target: 301 for GET and HEAD,
/// 308 (which keeps the method and body) for the others.
fn to_https(req: &Request, port: u16) -> Response {
    // `[::1]:8080` or `example.com:8080`: the host without the port.
    let host = req.header("Host").unwrap_or_default().trim();
    let Some(Authority { host: name, .. }) = Authority::parse(host) else {
        // HTTP/1.0 without a Host: there is no name to send the client to.
        return Response::error_page(400);
    };
    let target = if req.target.starts_with('/') {
        req.target.as_str()
    } else {
        "/"
    };
    let location = match port {
        443 => format!("https://{name}{target}"),
        _ => format!("https://{name}:{port}{target}"),
    };
    let status = if matches!(req.method.as_str(), "GET" | "HEAD") {
        301
    } else {
        308
    };
    let text = format!("This site is served over HTTPS: {location}\n");
    Response::text(status, text).with_header("Location", location)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Version;

    #[test]
    fn plain_http_is_sent_to_the_same_host_and_target_over_https() {
        let table = [
            (
                "GET",
                "/a?b=1",
                "example.com:8080",
                8443,
                301,
                "https://example.com:8443/a?b=1",
            ),
            ("HEAD", "/", "example.com", 443, 301, "https://example.com/"),
            (
                "POST",
                "/add/1.html",
                "[::1]:80",
                443,
                308,
                "https://[::1]/add/1.html",
            ),
            ("OPTIONS", "*", "h", 8443, 308, "https://h:8443/"),
        ];
        for (method, target, host, port, status, location) in table {
            let req = Request::fake_with(method, target, Version::Http11, &[("Host", host)]);
            let resp = to_https(&req, port);
            assert_eq!(resp.status, status, "{method} {target}");
            assert_eq!(
                resp.headers.get("Location"),
                Some(location),
                "{method} {target}"
            );
        }
        // HTTP/1.0 without a Host names no place to go.
        let req = Request::fake_with("GET", "/", Version::Http10, &[]);
        assert_eq!(to_https(&req, 443).status, 400);
    }

    #[test]
    fn a_panic_in_the_app_is_a_500_for_that_request_alone() {
        let req = Request::fake("GET", "/boom.html");
        let resp = call_catching_panics(&req, || panic!("the handler fell over"));
        assert_eq!(resp.status, 500);
        let body = String::from_utf8_lossy(resp.body.as_bytes().unwrap()).into_owned();
        assert!(
            !body.contains("fell over"),
            "the cause stays in the log: {body}"
        );
        let resp = call_catching_panics(&req, || Response::text(200, "fine"));
        assert_eq!(resp.status, 200);
    }
}
