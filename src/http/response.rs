//! What an application answers: `Response`, its `Body` (bytes, a file range the server
//! streams from disk, or a stream of chunks, WSGI's iterable), and the plain error page.

use std::fmt;
use std::fs::File;
use std::sync::{Arc, OnceLock};

use super::cookie::Cookie;
use super::headers::Headers;
use super::status::{reason, STATUSES};

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

    /// An `application/json` response of `value` (Flask's `jsonify`). A value serde cannot
    /// write as JSON (a map with keys that are not strings) is a bug: a plain 500, logged.
    pub fn json(status: u16, value: &impl serde::Serialize) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response::new(status)
                .with_header("Content-Type", "application/json")
                .with_body(Body::Bytes(body)),
            Err(e) => {
                log::error!("a response that is not JSON: {e}");
                Response::error_page(500)
            }
        }
    }

    /// A redirect (`301`, `302`, `303`, `307`, `308`) to `location`.
    pub fn redirect(status: u16, location: &str) -> Response {
        Response::new(status).with_header("Location", location)
    }

    /// A small fixed HTML page for an error status, with nothing in it but the status.
    /// The pages of known statuses are built once and shared.
    pub fn error_page(status: u16) -> Response {
        let page = match stock_pages().iter().find(|(s, _)| *s == status) {
            Some((_, page)) => page.clone(),
            None => error_page_bytes(status),
        };
        Response::new(status)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body(Body::Shared(page))
    }

    /// Whether this is [`Response::error_page`] as made, body and all: a page the site may
    /// replace with its own (`page_404`, `page_50x`).
    pub fn is_stock_error_page(&self) -> bool {
        let Body::Shared(body) = &self.body else {
            return false;
        };
        stock_pages()
            .iter()
            .any(|(s, page)| *s == self.status && Arc::ptr_eq(page, body))
    }

    /// This response with one more header field.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.append(name, value);
        self
    }

    /// This response setting `cookie` (one more `Set-Cookie`; the cookie was checked when it
    /// was made, so it cannot break the header).
    pub fn with_cookie(self, cookie: &Cookie) -> Response {
        self.with_header("Set-Cookie", cookie.header_value())
    }

    /// This response with `body`.
    pub fn with_body(mut self, body: Body) -> Response {
        self.body = body;
        self
    }
}

/// The error pages of the known statuses, built once and shared.
fn stock_pages() -> &'static [(u16, Arc<[u8]>)] {
    static PAGES: OnceLock<Vec<(u16, Arc<[u8]>)>> = OnceLock::new();
    PAGES.get_or_init(|| {
        STATUSES
            .iter()
            .map(|&(s, _)| (s, error_page_bytes(s)))
            .collect()
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
