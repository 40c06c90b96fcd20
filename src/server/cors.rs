//! Cross-origin requests (`cors_origins`, `--cors`): the origins listed may read the server's
//! answers from a page of theirs. A preflight (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`) from one of them is answered here, before anything else;
//! every other answer to one of them carries `Access-Control-Allow-Origin`. An origin not
//! listed gets nothing of CORS, so the browser keeps the answer from its page. Every answer
//! that depends on the origin says `Vary: Origin`, so that a cache does not hand one origin's
//! answer to another.

use super::grammar::is_token;
use crate::http::{web_origin, Request, Response};

/// How long a browser may keep a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The origins allowed, lower-cased as browsers send them, or any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// `*`: any origin, without credentials (the browser refuses `*` with cookies).
    AnyOrigin,
    /// Exactly these (`https://app.example`, `http://localhost:5173`).
    Origins(Vec<String>),
}

impl Cors {
    /// `"https://a.example, http://localhost:5173"` or `"*"`; `Err` names a bad origin.
    pub fn parse(text: &str) -> Result<Option<Cors>, String> {
        let items: Vec<&str> = text
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            return Ok(None);
        }
        if items == ["*"] {
            return Ok(Some(Cors::AnyOrigin));
        }
        let origins = items
            .iter()
            .map(|item| web_origin(item.trim_end_matches('/')))
            .collect::<Result<_, _>>()?;
        Ok(Some(Cors::Origins(origins)))
    }

    /// What `Access-Control-Allow-Origin` says to `req`, if its origin is allowed.
    fn allowed(&self, req: &Request) -> Option<String> {
        let origin = req.header("Origin")?.trim();
        match self {
            Cors::AnyOrigin => Some("*".into()),
            Cors::Origins(list) => list
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin))
                .then(|| origin.to_string()),
        }
    }

    /// The answer to a preflight from an allowed origin; `None` for any other request (a
    /// preflight from an origin not listed is then answered as a plain `OPTIONS`).
    pub(crate) fn preflight(&self, req: &Request) -> Option<Response> {
        if req.method != "OPTIONS" {
            return None;
        }
        let method = req.header("Access-Control-Request-Method")?.trim();
        let origin = self.allowed(req)?;
        if !is_token(method) {
            return Some(Response::error_page(400));
        }
        let mut resp = Response::new(204)
            .with_header("Access-Control-Allow-Origin", origin)
            .with_header("Access-Control-Allow-Methods", method)
            .with_header("Access-Control-Max-Age", PREFLIGHT_MAX_AGE)
            .with_header(
                "Vary",
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            );
        if let Some(asked) = req.header("Access-Control-Request-Headers") {
            let names: Vec<&str> = asked.split(',').map(str::trim).collect();
            if !names.iter().all(|n| is_token(n)) {
                return Some(Response::error_page(400));
            }
            resp.headers
                .append("Access-Control-Allow-Headers", names.join(", "));
        }
        Some(resp)
    }

    /// Marks `resp`, the answer to `req`, for an allowed origin. An answer that names its
    /// origin already (a preflight's, or an app's that does CORS itself) is left as it is.
    pub(crate) fn mark(&self, req: &Request, resp: &mut Response) {
        if resp.headers.contains("Access-Control-Allow-Origin") {
            return;
        }
        if let Cors::Origins(_) = self {
            resp.headers.append("Vary", "Origin");
        }
        if let Some(origin) = self.allowed(req) {
            resp.headers.set("Access-Control-Allow-Origin", origin);
        }
    }

    /// For the start-up line.
    pub fn describe(&self) -> String {
        match self {
            Cors::AnyOrigin => "any origin".into(),
            Cors::Origins(list) => list.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Version;

    fn req(method: &str, headers: &[(&str, &str)]) -> Request {
        Request::fake_with(method, "/api/x.json", Version::Http11, headers)
    }

    #[test]
    fn listed_origins_are_answered_and_others_get_nothing() {
        let cors = Cors::parse("https://app.example, http://localhost:5173/")
            .unwrap()
            .unwrap();
        let pre = [
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "content-type, x-token"),
        ];
        let resp = cors.preflight(&req("OPTIONS", &pre)).unwrap();
        assert_eq!(resp.status, 204);
        assert_eq!(
            resp.headers.get("Access-Control-Allow-Origin"),
            Some("https://app.example")
        );
        assert_eq!(
            resp.headers.get("Access-Control-Allow-Headers"),
            Some("content-type, x-token")
        );
        let stranger = [
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "PUT"),
        ];
        assert!(cors.preflight(&req("OPTIONS", &stranger)).is_none());
        let mut resp = Response::new(200);
        cors.mark(&req("GET", &stranger[..1]), &mut resp);
        assert_eq!(resp.headers.get("Access-Control-Allow-Origin"), None);
        assert_eq!(resp.headers.get("Vary"), Some("Origin"));
        let mut resp = Response::new(200);
        cors.mark(
            &req("GET", &[("Origin", "http://localhost:5173")]),
            &mut resp,
        );
        assert_eq!(
            resp.headers.get("Access-Control-Allow-Origin"),
            Some("http://localhost:5173")
        );
        // An app that answers CORS itself keeps its answer.
        let mut resp = Response::new(200).with_header("Access-Control-Allow-Origin", "null");
        cors.mark(
            &req("GET", &[("Origin", "http://localhost:5173")]),
            &mut resp,
        );
        assert_eq!(
            resp.headers.get("Access-Control-Allow-Origin"),
            Some("null")
        );
    }

    #[test]
    fn origins_are_checked() {
        assert_eq!(Cors::parse("  ").unwrap(), None);
        assert_eq!(Cors::parse("*").unwrap(), Some(Cors::AnyOrigin));
        assert_eq!(
            Cors::parse("HTTPS://App.Example/").unwrap(),
            Some(Cors::Origins(vec!["https://app.example".into()]))
        );
        for bad in ["app.example", "https://a.example/path", "ftp://a"] {
            assert!(Cors::parse(bad).is_err(), "{bad}");
        }
    }
}
