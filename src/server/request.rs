//! Reading one request off a connection: the head with `httparse` (however it is split across
//! reads, or several requests in one read), then the body by its framing, all within limits.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{ServerConfig, MAX_HEADERS_CEILING};
use crate::http::{Headers, Version};

/// A connection's read buffer starts this small (most request heads are a few hundred bytes)
/// and doubles while a larger head or body needs it.
const INITIAL_BUFFER: usize = 4 * 1024;
/// An empty buffer larger than this is given back.
const SHRINK_ABOVE: usize = 64 * 1024;
/// Longest chunk-size line or trailer line accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 4096;

/// Why no request could be read. Each protocol error maps to the status the server answers
/// with before closing; everything else means there is no one left to answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The client closed, reset, or sat idle past the keep-alive timeout: close quietly.
    Closed,
    /// The request is unacceptable: answer with this status (and say why in the log), then
    /// close, since the framing of whatever follows is unknown.
    Reject(u16, &'static str),
}

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct Head {
    pub method: String,
    pub target: String,
    pub version: Version,
    pub headers: Headers,
}

/// How the body of a request is delimited (RFC 9112, section 6.3).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// Parses a request head from the start of `buf`.
///
/// `Ok(None)` means the head is incomplete: read more (within the limits). On success, returns
/// the head and how many bytes of `buf` it took.
pub(crate) fn parse_head(
    buf: &[u8],
    max_headers: usize,
) -> Result<Option<(Head, usize)>, ReadError> {
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS_CEILING];
    let mut parsed = httparse::Request::new(&mut storage[..max_headers.min(MAX_HEADERS_CEILING)]);
    let n = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        // httparse says "Version" for `HTTP/2.0` and for `FOO/1.1` alike; only the first is a
        // well-formed version we do not support.
        Err(httparse::Error::Version) if names_http_version(buf) => {
            return Err(ReadError::Reject(505, "unsupported HTTP version"))
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ReadError::Reject(431, "too many header fields"))
        }
        Err(_) => return Err(ReadError::Reject(400, "malformed request head")),
    };
    let version = match parsed.version {
        Some(0) => Version::Http10,
        Some(1) => Version::Http11,
        _ => return Err(ReadError::Reject(505, "unsupported HTTP version")),
    };
    let mut headers = Headers::new();
    for h in parsed.headers.iter() {
        headers.append(h.name, String::from_utf8_lossy(h.value).into_owned());
    }
    let head = Head {
        method: parsed.method.unwrap_or_default().to_string(),
        target: parsed.path.unwrap_or_default().to_string(),
        version,
        headers,
    };
    Ok(Some((head, n)))
}

/// Whether the request line ends in something shaped like `HTTP/x.y`.
fn names_http_version(buf: &[u8]) -> bool {
    let line_end = buf.iter().position(|&b| b == b'\r' || b == b'\n');
    let line = &buf[..line_end.unwrap_or(buf.len())];
    let last = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    matches!(last, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit())
}

/// Works out the body framing from the head, refusing what RFC 9112 calls faulty framing.
pub(crate) fn framing(head: &Head) -> Result<Framing, ReadError> {
    let has_te = head.headers.contains("Transfer-Encoding");
    let lengths: Vec<&str> = head
        .headers
        .get_all("Content-Length")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if has_te {
        if !lengths.is_empty() {
            return Err(ReadError::Reject(
                400,
                "both Transfer-Encoding and Content-Length",
            ));
        }
        if head.version == Version::Http10 {
            return Err(ReadError::Reject(400, "Transfer-Encoding in HTTP/1.0"));
        }
        let codings: Vec<&str> = head
            .headers
            .get_all("Transfer-Encoding")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        return match codings.as_slice() {
            [only] if only.eq_ignore_ascii_case("chunked") => Ok(Framing::Chunked),
            _ => Err(ReadError::Reject(501, "unsupported transfer coding")),
        };
    }
    let Some(first) = lengths.first() else {
        return Ok(Framing::None);
    };
    if lengths.iter().any(|l| l != first) {
        return Err(ReadError::Reject(400, "conflicting Content-Length values"));
    }
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReadError::Reject(400, "invalid Content-Length"));
    }
    // All digits: the only way to fail is overflow, which is certainly too large.
    Ok(Framing::Length(first.parse().unwrap_or(u64::MAX)))
}

/// Reads requests off one connection, keeping what arrived beyond the current request (a
/// pipelined next request) for the next call.
pub(crate) struct RequestReader<'a> {
    stream: &'a TcpStream,
    config: &'a ServerConfig,
    /// Initialised storage; the unread bytes are `buf[start..end]`. Kept initialised so that
    /// a `read` never has to zero memory first.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The read timeout currently set on the socket, to skip redundant `setsockopt` calls.
    timeout: Option<Duration>,
}

impl<'a> RequestReader<'a> {
    pub fn new(stream: &'a TcpStream, config: &'a ServerConfig) -> Self {
        RequestReader {
            stream,
            config,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            timeout: None,
        }
    }

    /// Whether bytes of a next request are already buffered.
    pub fn has_buffered(&self) -> bool {
        self.start < self.end
    }

    /// The unread bytes.
    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` unread bytes as used.
    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            // A large body grew the buffer; an idle connection should not keep it.
            if self.buf.len() > SHRINK_ABOVE {
                self.buf = vec![0; INITIAL_BUFFER];
            }
        }
    }

    /// Reads the next request head. While nothing is buffered the connection counts as idle
    /// (`idle` is set), and a shutdown in progress ends it.
    pub fn read_head(
        &mut self,
        idle: &AtomicBool,
        shutting_down: &AtomicBool,
    ) -> Result<(Head, Instant), ReadError> {
        let cfg = self.config;
        let mut started = None;
        loop {
            if self.has_buffered() {
                let started = *started.get_or_insert_with(Instant::now);
                idle.store(false, Ordering::SeqCst);
                match parse_head(self.data(), cfg.max_headers)? {
                    Some((head, n)) => {
                        if n > cfg.max_head_bytes {
                            return Err(too_large(&self.data()[..n], cfg.max_head_bytes));
                        }
                        self.consume(n);
                        return Ok((head, started));
                    }
                    None if self.data().len() >= cfg.max_head_bytes => {
                        return Err(too_large(self.data(), cfg.max_head_bytes));
                    }
                    None => {}
                }
                let left = cfg.header_timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(ReadError::Reject(408, "request head not received in time"));
                }
                match self.fill(left) {
                    Ok(0) => return Err(ReadError::Closed),
                    Ok(_) => {}
                    Err(e) if is_timeout(&e) => {
                        return Err(ReadError::Reject(408, "request head not received in time"))
                    }
                    Err(_) => return Err(ReadError::Closed),
                }
            } else {
                idle.store(true, Ordering::SeqCst);
                if shutting_down.load(Ordering::SeqCst) {
                    return Err(ReadError::Closed);
                }
                match self.fill(cfg.idle_timeout) {
                    Ok(0) => return Err(ReadError::Closed),
                    Ok(_) => {}
                    // Idle past the keep-alive timeout, or reset: nothing to answer.
                    Err(_) => return Err(ReadError::Closed),
                }
            }
        }
    }

    /// Reads the body that `framing` announces, de-chunked, at most `max_body_bytes`.
    pub fn read_body(&mut self, framing: &Framing) -> Result<Vec<u8>, ReadError> {
        match *framing {
            Framing::None => Ok(Vec::new()),
            Framing::Length(n) => {
                if n > self.config.max_body_bytes {
                    return Err(ReadError::Reject(413, "body larger than the limit"));
                }
                let n = n as usize;
                self.need(n)?;
                let body = self.data()[..n].to_vec();
                self.consume(n);
                Ok(body)
            }
            Framing::Chunked => self.read_chunked(),
        }
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.line()?;
            let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
            let size_text = std::str::from_utf8(size_text)
                .map_err(|_| ReadError::Reject(400, "bad chunk size"))?
                .trim_matches([' ', '\t']);
            if size_text.is_empty() || size_text.len() > 15 {
                return Err(ReadError::Reject(400, "bad chunk size"));
            }
            let size = u64::from_str_radix(size_text, 16)
                .map_err(|_| ReadError::Reject(400, "bad chunk size"))?;
            if size == 0 {
                // Trailer fields are read and dropped; an empty line ends the message.
                let mut trailer_bytes = 0;
                loop {
                    let line = self.line()?;
                    if line.is_empty() {
                        return Ok(body);
                    }
                    trailer_bytes += line.len();
                    if trailer_bytes > self.config.max_head_bytes {
                        return Err(ReadError::Reject(431, "trailer fields too large"));
                    }
                }
            }
            if body.len() as u64 + size > self.config.max_body_bytes {
                return Err(ReadError::Reject(413, "body larger than the limit"));
            }
            let size = size as usize;
            self.need(size + 2)?;
            if &self.data()[size..size + 2] != b"\r\n" {
                return Err(ReadError::Reject(400, "chunk not followed by CRLF"));
            }
            body.extend_from_slice(&self.data()[..size]);
            self.consume(size + 2);
        }
    }

    /// One CRLF-terminated line of a chunked body, without the CRLF.
    fn line(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut searched = 0;
        loop {
            if let Some(i) = self.data()[searched..]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                let end = searched + i;
                let line = self.data()[..end].to_vec();
                self.consume(end + 2);
                return Ok(line);
            }
            searched = self.data().len().saturating_sub(1);
            if self.data().len() > MAX_CHUNK_LINE {
                return Err(ReadError::Reject(400, "chunk line too long"));
            }
            self.fill_body()?;
        }
    }

    /// Ensures at least `n` bytes are buffered.
    fn need(&mut self, n: usize) -> Result<(), ReadError> {
        while self.data().len() < n {
            self.fill_body()?;
        }
        Ok(())
    }

    /// One read while receiving a body: a stall longer than the header timeout is a 408.
    fn fill_body(&mut self) -> Result<(), ReadError> {
        match self.fill(self.config.header_timeout) {
            Ok(0) => Err(ReadError::Closed),
            Ok(_) => Ok(()),
            Err(e) if is_timeout(&e) => Err(ReadError::Reject(408, "body not received in time")),
            Err(_) => Err(ReadError::Closed),
        }
    }

    /// One `read` into the buffer, waiting at most `timeout`.
    fn fill(&mut self, timeout: Duration) -> io::Result<usize> {
        // A zero timeout means "block forever" to the socket API; never ask for that.
        let timeout = timeout.max(Duration::from_millis(1));
        if self.timeout != Some(timeout) {
            self.stream.set_read_timeout(Some(timeout))?;
            self.timeout = Some(timeout);
        }
        if self.end == self.buf.len() {
            // Full: move the unread bytes to the front, and grow if that frees nothing.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        loop {
            match (&*self.stream).read(&mut self.buf[self.end..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
            }
        }
    }
}

/// 414 when the request line alone is over the limit, else 431.
fn too_large(head: &[u8], limit: usize) -> ReadError {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    if line_end >= limit {
        ReadError::Reject(414, "request line longer than the head limit")
    } else {
        ReadError::Reject(431, "request head larger than the limit")
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::xorshift;

    const HEAD: &[u8] = b"GET /index.html?x=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\nAccept: */*\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn every_prefix_of_a_head_is_partial() {
        for i in 0..HEAD.len() {
            match parse_head(&HEAD[..i], 64) {
                Ok(None) => {}
                other => panic!("prefix of {i} bytes gave {other:?}"),
            }
        }
        let (head, n) = parse_head(HEAD, 64).unwrap().unwrap();
        assert_eq!(n, HEAD.len());
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "/index.html?x=1");
        assert_eq!(head.version, Version::Http11);
        assert_eq!(head.headers.get("user-agent"), Some("t"));
    }

    #[test]
    fn random_and_mangled_heads_never_panic() {
        let bases: &[&[u8]] = &[
            HEAD,
            b"POST /add/000007.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.0\r\n\r\n",
        ];
        let pieces: &[&[u8]] = &[
            b" ",
            b"\r\n",
            b"\n",
            b":",
            b"\0",
            b"\xff",
            b"%",
            b"\t",
            b"HTTP/9.9",
            b"Content-Length: 5\r\n",
            b"Transfer-Encoding: gzip\r\n",
            b"Host: y\r\n",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15;
        let (mut complete, mut partial, mut rejected) = (0, 0, 0);
        for _ in 0..20_000 {
            let mut buf = bases[xorshift(&mut state) as usize % bases.len()].to_vec();
            // Up to three mutations: overwrite a byte, splice a piece in, or cut the tail.
            for _ in 0..(xorshift(&mut state) % 4) {
                let at = xorshift(&mut state) as usize % (buf.len() + 1);
                match xorshift(&mut state) % 3 {
                    0 if at < buf.len() => buf[at] = xorshift(&mut state) as u8,
                    1 => {
                        let piece = pieces[xorshift(&mut state) as usize % pieces.len()];
                        buf.splice(at..at, piece.iter().copied());
                    }
                    _ => buf.truncate(at),
                }
            }
            match parse_head(&buf, 16) {
                Ok(Some((head, n))) => {
                    assert!(n <= buf.len());
                    let _ = framing(&head);
                    complete += 1;
                }
                Ok(None) => partial += 1,
                Err(_) => rejected += 1,
            }
        }
        // The generator must reach every outcome, or it tests less than it claims.
        assert!(
            complete > 1000 && partial > 1000 && rejected > 1000 && complete < 20_000,
            "{complete} complete, {partial} partial, {rejected} rejected"
        );
    }

    #[test]
    fn two_heads_in_one_buffer_parse_one_at_a_time() {
        let two = [HEAD, HEAD].concat();
        let (_, n) = parse_head(&two, 64).unwrap().unwrap();
        assert_eq!(n, HEAD.len());
    }

    #[test]
    fn bad_heads_get_their_status() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"GET / HTTP/1.2\r\n\r\n", 505),
            (b"GET / FOO/1.1\r\n\r\n", 400),
            (b"GET\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
            (b"G\x01T / HTTP/1.1\r\n\r\n", 400),
        ];
        for (input, status) in cases {
            match parse_head(input, 64) {
                Err(ReadError::Reject(s, _)) => {
                    assert_eq!(s, *status, "{}", String::from_utf8_lossy(input))
                }
                other => panic!("{} gave {other:?}", String::from_utf8_lossy(input)),
            }
        }
    }

    #[test]
    fn too_many_headers_is_431() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..5 {
            head.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert!(matches!(
            parse_head(&head, 4),
            Err(ReadError::Reject(431, _))
        ));
        assert!(parse_head(&head, 5).unwrap().is_some());
    }

    fn head_with(fields: &[(&str, &str)], version: Version) -> Head {
        let mut headers = Headers::new();
        for (n, v) in fields {
            headers.append(*n, *v);
        }
        Head {
            method: "POST".into(),
            target: "/".into(),
            version,
            headers,
        }
    }

    #[test]
    fn framing_table() {
        use Framing::*;
        let ok: &[(&[(&str, &str)], Framing)] = &[
            (&[], None),
            (&[("Content-Length", "10")], Length(10)),
            (
                &[("Content-Length", "10"), ("Content-Length", "10")],
                Length(10),
            ),
            (&[("Content-Length", "7, 7")], Length(7)),
            (&[("Transfer-Encoding", "chunked")], Chunked),
            (&[("Transfer-Encoding", "Chunked")], Chunked),
            (
                &[("Content-Length", "99999999999999999999999")],
                Length(u64::MAX),
            ),
        ];
        for (fields, want) in ok {
            assert_eq!(&framing(&head_with(fields, Version::Http11)).unwrap(), want);
        }
        let bad: &[(&[(&str, &str)], u16)] = &[
            (&[("Content-Length", "10"), ("Content-Length", "11")], 400),
            (&[("Content-Length", "-1")], 400),
            (&[("Content-Length", "")], 400),
            (&[("Content-Length", "1e3")], 400),
            (
                &[("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
                400,
            ),
            (&[("Transfer-Encoding", "gzip")], 501),
            (&[("Transfer-Encoding", "gzip, chunked")], 501),
            (&[("Transfer-Encoding", "chunked, chunked")], 501),
        ];
        for (fields, status) in bad {
            match framing(&head_with(fields, Version::Http11)) {
                Err(ReadError::Reject(s, _)) => assert_eq!(s, *status, "{fields:?}"),
                other => panic!("{fields:?} gave {other:?}"),
            }
        }
        assert!(framing(&head_with(
            &[("Transfer-Encoding", "chunked")],
            Version::Http10
        ))
        .is_err());
    }

    #[test]
    fn over_long_request_line_is_414_else_431() {
        let long_line = [b"GET /".as_slice(), &[b'a'; 100]].concat();
        assert_eq!(
            too_large(&long_line, 50),
            ReadError::Reject(414, "request line longer than the head limit")
        );
        let long_headers = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 100]].concat();
        assert!(matches!(
            too_large(&long_headers, 50),
            ReadError::Reject(431, _)
        ));
    }
}
