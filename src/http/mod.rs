//! The interface between server and application, miniweb's WSGI: `Request`, `Response`, `Body`
//! and the `App` trait. These are the only types that cross between `server` and `framework`.
//! The request and the trait are here; the response is in `response.rs`, and what both sides
//! read in headers in `negotiation.rs` and `status.rs`.

mod authority;
mod cookie;
mod headers;
mod negotiation;
mod request_body;
mod response;
mod status;
mod urlencoded;

pub use authority::{web_origin, Authority};
pub use cookie::{Cookie, CookieError, SameSite};
pub use headers::Headers;
pub use negotiation::{accept_quality, etag_list_matches, q_of, strong_etag};
pub use request_body::{BodyBytes, RequestBody};
pub use response::{escape_html, Body, Response, Stream};
pub use status::reason;
pub(crate) use urlencoded::decode_pairs;

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The protocol version of a request; miniweb speaks HTTP/1.0 and HTTP/1.1 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: the connection closes after the response unless the client asks otherwise.
    Http10,
    /// HTTP/1.1: persistent connections by default.
    Http11,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        })
    }
}

/// One HTTP request as the application sees it: the environ of WSGI.
///
/// The server has already read the whole body (de-chunked) and checked the framing; the
/// application never touches the socket.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method, as sent (`GET`, `POST`, ...).
    pub method: String,
    /// The request-target as sent: path and query, still percent-encoded.
    pub target: String,
    /// The path, percent-decoded as UTF-8. An encoded `/` (`%2F`) decodes to `/` here, so code
    /// that cares about segments should split `raw_path()` and decode each segment.
    pub path: String,
    /// The query string without the `?`, still percent-encoded; empty when there is none.
    pub query: String,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The header fields.
    pub headers: Headers,
    /// The body, complete; empty when the request had none. Held in memory when small, in an
    /// unnamed temporary file past `body_memory_bytes` (see [`RequestBody`]).
    pub body: RequestBody,
    /// The address of the connection's other end, when known: the client, or a proxy.
    pub peer: Option<SocketAddr>,
    /// The client's address: the peer, or, when the peer is a trusted proxy, the address it
    /// forwarded (`Forwarded`, `X-Forwarded-For`).
    pub client: Option<IpAddr>,
    /// The site's origin as the client addressed it (`https://stocks.example`), when the
    /// server knows it better than `http://` and `Host` do: `public_origin` from the config,
    /// or the scheme and host a trusted proxy forwarded.
    pub origin: Option<String>,
}

impl Request {
    /// A request built in memory, for tests of an `App` without a socket. Panics if the path
    /// is not UTF-8 once decoded, which the test controls.
    pub fn fake(method: &str, target: &str) -> Request {
        let (raw_path, query) = split_target(target);
        let path =
            decode_path(raw_path).unwrap_or_else(|e| panic!("Request::fake({target:?}): {e}"));
        Request {
            method: method.to_string(),
            target: target.to_string(),
            path,
            query: query.to_string(),
            version: Version::Http11,
            headers: Headers::new(),
            body: RequestBody::default(),
            peer: None,
            client: None,
            origin: None,
        }
    }

    /// [`Request::fake`] with this version and these header fields, for the server's tests.
    #[cfg(test)]
    pub(crate) fn fake_with(
        method: &str,
        target: &str,
        version: Version,
        headers: &[(&str, &str)],
    ) -> Request {
        let mut req = Request::fake(method, target);
        req.version = version;
        for (name, value) in headers {
            req.headers.append(*name, *value);
        }
        req
    }

    /// Whether `If-None-Match` names `etag` (weak comparison, `*` for any), so that the
    /// client's copy is current and the answer is a 304.
    pub fn if_none_match(&self, etag: &str) -> bool {
        self.header("If-None-Match")
            .is_some_and(|list| etag_list_matches(list, etag, true))
    }

    /// The path part of the target, still percent-encoded.
    pub fn raw_path(&self) -> &str {
        split_target(&self.target).0
    }

    /// The value of the cookie `name`, the first if the client sent several (the most
    /// specific path comes first).
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every cookie the client sent, as `(name, value)`, in order; malformed pairs skipped.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        cookie::pairs(self.headers.get_all("Cookie"))
    }

    /// A header value by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// A raw path percent-decoded, as `Request::path` holds it; `Err` when that is not UTF-8.
pub fn decode_path(raw_path: &str) -> Result<String, std::str::Utf8Error> {
    Ok(percent_encoding::percent_decode_str(raw_path)
        .decode_utf8()?
        .into_owned())
}

/// Splits a request-target into its path and query (without the `?`).
pub fn split_target(target: &str) -> (&str, &str) {
    match target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target, ""),
    }
}

/// An application: anything that turns a request into a response.
///
/// `call` must not fail: every error becomes a response. Should it panic anyway, the server
/// answers that one request with a 500 and goes on. A closure is an application too:
///
/// ```
/// use miniweb::http::{App, Request, Response};
///
/// let hello = |req: &Request| Response::text(200, format!("hello from {}", req.path));
/// let resp = hello.call(&Request::fake("GET", "/greeting.html"));
/// assert_eq!(resp.status, 200);
/// assert_eq!(resp.body.as_bytes(), Some(&b"hello from /greeting.html"[..]));
/// ```
pub trait App: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, req: &Request) -> Response;

    /// The app's own counters, for the server's `/metrics` (the framework's page cache);
    /// none by default. The server writes them in Prometheus's text format.
    fn metrics(&self) -> Vec<Counter> {
        Vec::new()
    }
}

/// One counter an app keeps, for `/metrics`: a number that only goes up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// Its name, as Prometheus names counters: `snake_case`, ending in `_total`.
    pub name: &'static str,
    /// What it counts, in one line.
    pub help: &'static str,
    /// Its count since start-up.
    pub value: u64,
}

impl<F> App for F
where
    F: Fn(&Request) -> Response + Send + Sync + 'static,
{
    fn call(&self, req: &Request) -> Response {
        self(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_request_splits_and_decodes() {
        let r = Request::fake("GET", "/a%20b/c.html?x=1");
        assert_eq!(r.path, "/a b/c.html");
        assert_eq!(r.raw_path(), "/a%20b/c.html");
        assert_eq!(r.query, "x=1");
    }
}
