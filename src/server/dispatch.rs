//! What answers a request, once it is read: on a listener that redirects, the way to HTTPS;
//! else a file under the static roots, which the server serves itself; else the App, inside
//! `catch_unwind` so that a panic is a 500 for that request alone. The course's rule was
//! "`.html` is dynamic, everything else is a file"; this one is nginx's `try_files`.

use std::panic::{self, AssertUnwindSafe};

use super::state::ServerState;
use super::static_files::Cached;
use crate::http::{App, Authority, Request, Response};

/// The answer to `req`: on a listener that redirects (`redirect`), the way to HTTPS; else
/// files first, then the App (nginx's `try_files $uri $uri/ @app`): a path that names a file
/// under the static root, or a folder with an `index.html`, is the server's whatever its
/// extension or method; every other request goes to the App. The site's pages (`/`,
/// `*.html`) are simply paths with no file behind them.
pub(crate) fn dispatch(
    req: &Request,
    state: &ServerState,
    app: &dyn App,
    redirect: Option<u16>,
) -> Response {
    if let Some(port) = redirect {
        return to_https(req, port);
    }
    if req.target == "*" {
        return Response::new(204).with_header("Allow", "GET, HEAD, POST, OPTIONS");
    }
    let files = &state.static_files;
    match files.lookup(req.raw_path()) {
        Cached::Missing => call_catching_panics(req, || app.call(req)),
        // A file's own errors (405, 412, 416) are the server's answers, on its own page, as
        // nginx answers them in front of an app: the app is never asked to dress them.
        found => files.serve(req, found),
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
