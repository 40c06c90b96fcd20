//! The way back after a failed form post, as Flask's `flash()` gives it: instead of an error
//! page under the POST's address (where a reload posts again), a browser is sent back with a
//! 303 to the page it came from, and that page shows the error once.
//!
//! The message travels in a short-lived cookie: set on the 303, shown by the next page the
//! framework renders, cleared by that same response. Only browsers navigating are sent back
//! (`Sec-Fetch-Mode: navigate`, or an `Accept` that prefers HTML); a script or `curl` still
//! gets the precise status (404, 409, 400) and the error page, so nothing is hidden from them.
//! The cookie holds only the text to show, escaped when shown like any other value.

use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};

use std::time::Duration;

use super::error::Error;
use crate::http::{accept_quality, Cookie, CookieError, Request, Response, SameSite};

/// The cookie's name.
const COOKIE: &str = "miniweb_flash";

/// A message longer than this (in bytes, decoded) is not one of ours: it is ignored.
const MAX_BYTES: usize = 1024;

/// Where to send the browser after `err`, and with which message; `None` to answer with the
/// error itself: an error other than 400, 404, 409, or a client that is not a browser
/// navigating.
pub(crate) fn redirect_with_flash(req: &Request, err: &Error) -> Option<Response> {
    if !matches!(
        err,
        Error::NotFound(_) | Error::Conflict(_) | Error::BadRequest(_)
    ) || !navigating(req)
    {
        return None;
    }
    let back = same_site_referer(req).unwrap_or_else(|| "/".to_string());
    log::debug!(
        "{} {}: {err}; back to {back} with the message",
        req.method,
        req.target
    );
    // Percent-encoded, the message is letters, digits and `%`: always a cookie value.
    let message = utf8_percent_encode(err.public_message(), NON_ALPHANUMERIC).to_string();
    let cookie = Cookie::new(COOKIE, &message).ok()?;
    Some(
        Response::redirect(303, &back)
            .with_cookie(&attributes(cookie).max_age(Duration::from_secs(60)))
            .with_header("Cache-Control", "no-store"),
    )
}

/// The flash cookie's attributes: the whole site, no scripts, not sent from other sites.
fn attributes(cookie: Cookie) -> Cookie {
    cookie.http_only().same_site(SameSite::Lax)
}

/// The cookie that clears the message.
fn removal() -> Result<Cookie, CookieError> {
    Ok(attributes(Cookie::removal(COOKIE)?))
}

/// The message a previous response left for this page, if any.
pub(crate) fn read(req: &Request) -> Option<String> {
    let value = req.cookie(COOKIE)?;
    let message = percent_decode_str(value).decode_utf8().ok()?;
    (!message.trim().is_empty() && message.len() <= MAX_BYTES).then(|| message.into_owned())
}

/// Marks `resp` as the one that showed the message: the cookie cleared, and the page kept
/// out of every cache, since it is this browser's alone.
pub(crate) fn shown(resp: Response) -> Response {
    let mut resp = match removal() {
        Ok(cookie) => resp.with_cookie(&cookie),
        Err(e) => unreachable!("the flash cookie's name is a token: {e}"),
    };
    resp.headers.set("Cache-Control", "no-store");
    resp
}

/// Whether `req` is a browser following a link or submitting a form, which can be sent to
/// another page, rather than a script that wants the status.
fn navigating(req: &Request) -> bool {
    match req.header("Sec-Fetch-Mode") {
        Some(mode) => mode.trim().eq_ignore_ascii_case("navigate"),
        None => {
            let accept = req.header("Accept");
            accept.is_some()
                && accept_quality(accept, "text/html") > accept_quality(accept, "application/json")
        }
    }
}

/// The path and query of the `Referer`, when it is a page of this site; the origin check has
/// already refused a post from elsewhere, so this only keeps the redirect on this site.
fn same_site_referer(req: &Request) -> Option<String> {
    let referer = req.header("Referer")?.trim();
    let host = req.header("Host")?.trim();
    let rest = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?;
    let path = rest.strip_prefix(host)?;
    let path = path.split('#').next().unwrap_or_default();
    // `//evil.example` would be read as another host; control characters never belong.
    if !path.starts_with('/') || path.starts_with("//") || path.chars().any(char::is_control) {
        return None;
    }
    Some(path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut req = Request::fake(method, "/add/000007.html");
        for (name, value) in headers {
            req.headers.append(*name, *value);
        }
        req
    }

    const BROWSER: (&str, &str) = ("Sec-Fetch-Mode", "navigate");

    #[test]
    fn a_navigating_browser_goes_back_with_the_message_in_a_cookie() {
        let req = request(
            "POST",
            &[
                BROWSER,
                ("Host", "shop.test:8080"),
                ("Referer", "http://shop.test:8080/index.html?x=1#row"),
            ],
        );
        let resp = redirect_with_flash(&req, &Error::Conflict("股票 000007 已经关注过了。".into()))
            .unwrap();
        assert_eq!(resp.status, 303);
        assert_eq!(resp.headers.get("Location"), Some("/index.html?x=1"));
        let cookie = resp.headers.get("Set-Cookie").unwrap();
        assert!(cookie.starts_with("miniweb_flash=%E8%82%A1"), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));

        // The next request carries it back, and reads the same text.
        let value = cookie.split(';').next().unwrap();
        let next = request("GET", &[("Cookie", &format!("a=b; {value}"))]);
        assert_eq!(read(&next).as_deref(), Some("股票 000007 已经关注过了。"));
    }

    #[test]
    fn scripts_and_server_errors_get_the_error_itself() {
        let conflict = || Error::Conflict("x".into());
        assert!(redirect_with_flash(&request("POST", &[]), &conflict()).is_none());
        let curl = request("POST", &[("Accept", "*/*")]);
        assert!(redirect_with_flash(&curl, &conflict()).is_none());
        let fetch = request(
            "POST",
            &[("Sec-Fetch-Mode", "cors"), ("Accept", "text/html")],
        );
        assert!(redirect_with_flash(&fetch, &conflict()).is_none());
        let browser = request("POST", &[BROWSER]);
        assert!(redirect_with_flash(&browser, &Error::Internal("bug".into())).is_none());
        assert!(redirect_with_flash(&browser, &Error::Forbidden("x".into())).is_none());
        // An old browser says so by its Accept.
        let old = request("POST", &[("Accept", "text/html,*/*;q=0.8")]);
        assert!(redirect_with_flash(&old, &conflict()).is_some());
    }

    #[test]
    fn the_way_back_stays_on_this_site() {
        for referer in [
            "http://evil.example/index.html",
            "http://shop.test:8080.evil.example/",
            "http://shop.test:8080//evil.example/",
            "javascript:alert(1)",
        ] {
            let req = request(
                "POST",
                &[BROWSER, ("Host", "shop.test:8080"), ("Referer", referer)],
            );
            let resp = redirect_with_flash(&req, &Error::NotFound("x".into())).unwrap();
            assert_eq!(resp.headers.get("Location"), Some("/"), "{referer}");
        }
    }

    #[test]
    fn a_cookie_that_is_not_a_message_of_ours_is_ignored() {
        for cookie in [
            "other=1",
            "miniweb_flash=",
            "miniweb_flash=%FF%FE",
            &format!("miniweb_flash={}", "a".repeat(MAX_BYTES + 1)),
        ] {
            assert_eq!(
                read(&request("GET", &[("Cookie", cookie)])),
                None,
                "{cookie}"
            );
        }
    }
}
