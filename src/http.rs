//! The interface between server and application, miniweb's WSGI: `Request`, `Response`, `Body`
//! and the `App` trait. These are the only types that cross between `server` and `framework`.

use std::fmt;
use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

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

/// An ordered list of header fields with case-insensitive lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// The value of the first field named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the fields named `name`, in the order they arrived.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends a field, keeping any others of the same name.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Sets a field, replacing every other field of the same name.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.0.push((name, value.into()));
    }

    /// Removes every field named `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// All fields in order, as (name, value) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Whether the comma-separated field `name` lists `token` (ASCII case-insensitive), as
    /// `Connection: keep-alive, Upgrade` lists `keep-alive`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
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
    /// The body, complete; empty when the request had none.
    pub body: Vec<u8>,
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
            body: Vec::new(),
            peer: None,
            client: None,
            origin: None,
        }
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

    /// A header value by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// Whether an `If-Match`/`If-None-Match` list names `etag` (`*` names any). `weak` selects
/// the weak comparison of If-None-Match; If-Match uses the strong one.
pub fn etag_list_matches(list: &str, etag: &str, weak: bool) -> bool {
    list.split(',').map(str::trim).any(|candidate| {
        if candidate == "*" {
            return true;
        }
        match candidate.strip_prefix("W/") {
            Some(c) => weak && c == etag,
            None => candidate == etag,
        }
    })
}

/// The q-value an `Accept` header gives `media_type` (`text/html`), from its most specific
/// matching range (`text/html`, then `text/*`, then `*/*`); 0 when none names it. Without the
/// header, everything is acceptable: 1.
pub fn accept_quality(accept: Option<&str>, media_type: &str) -> f32 {
    let Some(accept) = accept else {
        return 1.0;
    };
    let (kind, sub) = media_type.split_once('/').unwrap_or((media_type, ""));
    let mut best = (0u8, 0.0f32); // (specificity, q)
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        let specificity = match range.split_once('/') {
            Some((k, s)) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) => 3,
            Some((k, "*")) if k.eq_ignore_ascii_case(kind) => 2,
            Some(("*", "*")) => 1,
            _ => continue,
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if specificity > best.0 {
            best = (specificity, q.clamp(0.0, 1.0));
        }
    }
    best.1
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

/// A response body.
#[derive(Debug)]
pub enum Body {
    /// No body at all.
    Empty,
    /// A body held in memory.
    Bytes(Vec<u8>),
    /// A body held in memory and shared between responses (a cached page or file).
    Shared(Arc<[u8]>),
    /// `len` bytes of an open file from offset `start`, streamed from disk by the server.
    File {
        /// The open file.
        file: File,
        /// The first byte to send.
        start: u64,
        /// How many bytes to send.
        len: u64,
    },
    /// Bytes produced while they are sent, WSGI's iterable body: see [`Stream`].
    Stream(Stream),
}

/// A body of unknown length that the server pulls chunk by chunk as the client takes it:
/// sent with `Transfer-Encoding: chunked` to HTTP/1.1 clients and delimited by closing the
/// connection for HTTP/1.0 ones. Memory stays at one chunk whatever the length.
///
/// The producer is dropped, unfinished, when the request is HEAD, when the client goes away or
/// falls under the send deadlines; an `Err` from it ends the response early (the client sees
/// the body cut, as the framing then cannot be completed) and is logged.
///
/// ```
/// use miniweb::http::{Body, Response, Stream};
///
/// let lines = (1..=3).map(|i| Ok(format!("line {i}\n").into_bytes()));
/// let resp = Response::new(200)
///     .with_header("Content-Type", "text/plain; charset=utf-8")
///     .with_body(Body::Stream(Stream::new(lines)));
/// assert_eq!(resp.body.len(), None);
/// ```
pub struct Stream(Box<dyn Iterator<Item = std::io::Result<Vec<u8>>> + Send>);

impl Stream {
    /// Chunks from an iterator; empty chunks are skipped.
    pub fn new<I>(chunks: I) -> Stream
    where
        I: IntoIterator<Item = std::io::Result<Vec<u8>>>,
        I::IntoIter: Send + 'static,
    {
        Stream(Box::new(chunks.into_iter()))
    }

    /// Chunks of up to 64 KiB read from `reader` until it ends.
    pub fn from_read(mut reader: impl std::io::Read + Send + 'static) -> Stream {
        let chunks = std::iter::from_fn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                return match reader.read(&mut buf) {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some(Ok(buf))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => Some(Err(e)),
                };
            }
        });
        Stream(Box::new(chunks))
    }
}

impl Iterator for Stream {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stream(..)")
    }
}

impl Body {
    /// The number of bytes the body holds; `None` for a stream, known only when it ends.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(b) => Some(b.len() as u64),
            Body::Shared(b) => Some(b.len() as u64),
            Body::File { len, .. } => Some(*len),
            Body::Stream(_) => None,
        }
    }

    /// Whether the body is known to hold no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The bytes of a body held in memory; `None` for a file or a stream.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Empty => Some(&[]),
            Body::Bytes(b) => Some(b),
            Body::Shared(b) => Some(b),
            Body::File { .. } | Body::Stream(_) => None,
        }
    }
}

/// One HTTP response: the status and headers of WSGI's `start_response`, plus the body.
///
/// The server adds the framing headers (`Content-Length`, `Date`, `Server`, `Connection`).
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields set by the application.
    pub headers: Headers,
    /// The body.
    pub body: Body,
}

impl Response {
    /// A response with `status`, no headers and no body.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Headers::new(),
            body: Body::Empty,
        }
    }

    /// A `text/html; charset=utf-8` response.
    pub fn html(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response::new(status)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body(Body::Bytes(body.into()))
    }

    /// A `text/plain; charset=utf-8` response.
    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response::new(status)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(Body::Bytes(body.into()))
    }

    /// A redirect (`301`, `302`, `303`, `307`, `308`) to `location`.
    pub fn redirect(status: u16, location: &str) -> Response {
        Response::new(status).with_header("Location", location)
    }

    /// A small fixed HTML page for an error status, with nothing in it but the status.
    /// The pages of known statuses are built once and shared.
    pub fn error_page(status: u16) -> Response {
        static PAGES: OnceLock<Vec<(u16, Arc<[u8]>)>> = OnceLock::new();
        let pages = PAGES.get_or_init(|| {
            STATUSES
                .iter()
                .map(|&(s, _)| (s, error_page_bytes(s)))
                .collect()
        });
        let page = match pages.iter().find(|(s, _)| *s == status) {
            Some((_, page)) => page.clone(),
            None => error_page_bytes(status),
        };
        Response::new(status)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body(Body::Shared(page))
    }

    /// This response with one more header field.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.append(name, value);
        self
    }

    /// This response with `body`.
    pub fn with_body(mut self, body: Body) -> Response {
        self.body = body;
        self
    }
}

/// The bytes of `Response::error_page(status)`.
fn error_page_bytes(status: u16) -> Arc<[u8]> {
    let line = format!("{} {}", status, reason(status));
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{line}</title></head>\
         <body><h1>{line}</h1><hr><p>miniweb</p></body></html>\n"
    )
    .into_bytes()
    .into()
}

/// `text` safe inside HTML, as element content or a quoted attribute value.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Every status miniweb uses, with its reason phrase (RFC 9110, section 15).
const STATUSES: &[(u16, &str)] = &[
    (100, "Continue"),
    (200, "OK"),
    (201, "Created"),
    (204, "No Content"),
    (206, "Partial Content"),
    (301, "Moved Permanently"),
    (302, "Found"),
    (303, "See Other"),
    (304, "Not Modified"),
    (307, "Temporary Redirect"),
    (308, "Permanent Redirect"),
    (400, "Bad Request"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (408, "Request Timeout"),
    (409, "Conflict"),
    (411, "Length Required"),
    (412, "Precondition Failed"),
    (413, "Content Too Large"),
    (414, "URI Too Long"),
    (415, "Unsupported Media Type"),
    (416, "Range Not Satisfiable"),
    (417, "Expectation Failed"),
    (422, "Unprocessable Content"),
    (429, "Too Many Requests"),
    (431, "Request Header Fields Too Large"),
    (500, "Internal Server Error"),
    (501, "Not Implemented"),
    (503, "Service Unavailable"),
    (505, "HTTP Version Not Supported"),
];

/// The reason phrase of a status code.
pub fn reason(status: u16) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("Unknown", |(_, r)| r)
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

    /// The page of an error the server answers on its own for a request it has read (a
    /// static file's 405, 412 or 416), so that it looks like the application's error pages.
    /// The server keeps the status and its own headers (`Allow`, `Content-Range`) and takes
    /// the body and `Content-Type` from here. The default is the server's plain page.
    fn error_page(&self, req: &Request, status: u16) -> Response {
        let _ = req;
        Response::error_page(status)
    }
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
    fn header_lookup_is_case_insensitive() {
        let mut h = Headers::new();
        h.append("Content-Type", "text/plain");
        assert_eq!(h.get("content-type"), Some("text/plain"));
        h.set("CONTENT-TYPE", "text/html");
        assert_eq!(h.get_all("Content-Type").count(), 1);
        assert_eq!(h.get("content-type"), Some("text/html"));
    }

    #[test]
    fn connection_tokens_are_found_in_lists() {
        let mut h = Headers::new();
        h.append("Connection", "Upgrade, Keep-Alive");
        assert!(h.has_token("connection", "keep-alive"));
        assert!(!h.has_token("connection", "close"));
    }

    #[test]
    fn etag_lists_compare_weakly_or_strongly() {
        assert!(etag_list_matches("\"a\", \"b\"", "\"b\"", true));
        assert!(etag_list_matches("W/\"b\"", "\"b\"", true));
        assert!(!etag_list_matches("W/\"b\"", "\"b\"", false));
        assert!(etag_list_matches("*", "\"b\"", false));
        assert!(!etag_list_matches("\"c\"", "\"b\"", true));
    }

    #[test]
    fn error_pages_name_their_status() {
        for status in [404, 431, 599] {
            let page = Response::error_page(status);
            let text = String::from_utf8_lossy(page.body.as_bytes().unwrap()).into_owned();
            assert_eq!(page.status, status);
            assert!(
                text.contains(&format!("<h1>{status} {}</h1>", reason(status))),
                "{text}"
            );
        }
        assert_eq!(reason(431), "Request Header Fields Too Large");
        assert_eq!(reason(412), "Precondition Failed");
        assert_eq!(reason(599), "Unknown");
    }

    #[test]
    fn accept_quality_takes_the_most_specific_range() {
        let browser = Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        assert_eq!(accept_quality(browser, "text/html"), 1.0);
        assert_eq!(accept_quality(browser, "application/json"), 0.8);
        assert_eq!(
            accept_quality(Some("text/*;q=0.3, text/csv"), "text/csv"),
            1.0
        );
        assert_eq!(
            accept_quality(Some("text/*;q=0.3, text/csv"), "text/html"),
            0.3
        );
        assert_eq!(accept_quality(Some("image/png"), "text/html"), 0.0);
        assert_eq!(
            accept_quality(Some("application/json;q=0"), "application/json"),
            0.0
        );
        assert_eq!(accept_quality(None, "text/csv"), 1.0);
    }

    #[test]
    fn fake_request_splits_and_decodes() {
        let r = Request::fake("GET", "/a%20b/c.html?x=1");
        assert_eq!(r.path, "/a b/c.html");
        assert_eq!(r.raw_path(), "/a%20b/c.html");
        assert_eq!(r.query, "x=1");
    }
}
