//! A request head, parsed with `httparse`: the request line and the fields, within the
//! limits, and the version that decides the rest. What the head must hold before a body is
//! read is checked next door: the target and `Host` in `target.rs`, the body's length in
//! `framing.rs`.

use super::settings::MAX_HEADERS_CEILING;
use crate::http::{Headers, Version};

/// Why no request could be read. Each protocol error maps to the status the server answers
/// with before closing; everything else means there is no one left to answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The client closed, reset, or sat idle past its timeout: close quietly.
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

/// Parses a request head from the start of `buf`.
///
/// `Ok(None)` means the head is incomplete: read more (within the limits). On success, returns
/// the head and how many bytes of `buf` it took. `HTTP/1.x` with a minor version above 1 is
/// read as HTTP/1.1 (RFC 9110, section 2.5); another major version is a 505.
pub(crate) fn parse_head(
    buf: &[u8],
    max_headers: usize,
) -> Result<Option<(Head, usize)>, ReadError> {
    match parse_exactly(buf, max_headers) {
        // httparse says only that the version is not 1.0 or 1.1; look closer.
        Err(ReadError::Reject(505, _)) => match request_line_version(buf) {
            Some((b'1', minor)) if minor > b'1' => {
                // httparse knows only 1.0 and 1.1: read a later 1.x as 1.1.
                let at = version_offset(buf);
                let mut patched = buf.to_vec();
                patched[at + 7] = b'1';
                parse_exactly(&patched, max_headers)
            }
            Some(_) => Err(ReadError::Reject(505, "unsupported HTTP version")),
            // `GET / HTTP/1.` may yet become `HTTP/1.2`: wait for the line to end.
            None if may_become_version(buf) => Ok(None),
            None => Err(ReadError::Reject(400, "malformed request head")),
        },
        other => other,
    }
}

/// Header slots on the stack: more than a browser sends (about 20). A request with more, up to
/// `max_headers`, is parsed again with slots on the heap. All `MAX_HEADERS_CEILING` slots on
/// the stack would be 8 KiB set to empty for every request, and two more pages touched in the
/// stack of every connection thread, the idle ones' included.
const STACK_HEADERS: usize = 32;

fn parse_exactly(buf: &[u8], max_headers: usize) -> Result<Option<(Head, usize)>, ReadError> {
    let max_headers = max_headers.min(MAX_HEADERS_CEILING);
    let mut slots = [httparse::EMPTY_HEADER; STACK_HEADERS];
    if max_headers <= STACK_HEADERS {
        return parse_with(buf, &mut slots[..max_headers]);
    }
    match parse_with(buf, &mut slots) {
        Err(ReadError::Reject(431, _)) => {
            parse_with(buf, &mut vec![httparse::EMPTY_HEADER; max_headers])
        }
        other => other,
    }
}

fn parse_with<'b>(
    buf: &'b [u8],
    slots: &mut [httparse::Header<'b>],
) -> Result<Option<(Head, usize)>, ReadError> {
    let mut parsed = httparse::Request::new(slots);
    let n = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::Version) => {
            return Err(ReadError::Reject(505, "unsupported HTTP version"))
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ReadError::Reject(431, "too many header fields"))
        }
        Err(_) => return Err(ReadError::Reject(400, "malformed request head")),
    };
    let version = match parsed.version {
        Some(0) => Version::Http10,
        _ => Version::Http11,
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

/// Where the last space-separated word of the request line starts.
fn version_offset(buf: &[u8]) -> usize {
    let line_end = buf.iter().position(|&b| b == b'\r' || b == b'\n');
    let line = &buf[..line_end.unwrap_or(buf.len())];
    line.iter().rposition(|&b| b == b' ').map_or(0, |i| i + 1)
}

/// The (major, minor) digits when the request line is complete, has its three words, and
/// ends in a well-formed `HTTP/x.y`; `None` when it is malformed or not yet all there.
fn request_line_version(buf: &[u8]) -> Option<(u8, u8)> {
    let line_end = buf.iter().position(|&b| b == b'\r' || b == b'\n')?;
    if buf[..line_end].iter().filter(|&&b| b == b' ').count() != 2 {
        return None;
    }
    match &buf[version_offset(buf)..line_end] {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some((*major, *minor))
        }
        _ => None,
    }
}

/// Whether the request line has not ended yet and its last word so far could still become
/// `HTTP/x.y`.
fn may_become_version(buf: &[u8]) -> bool {
    const SHAPE: &[u8] = b"HTTP/0.0";
    let word = &buf[version_offset(buf)..];
    !buf.contains(&b'\n')
        && !buf.contains(&b'\r')
        && word.len() <= SHAPE.len()
        && word.iter().zip(SHAPE).all(|(&b, &s)| {
            if s == b'0' {
                b.is_ascii_digit()
            } else {
                b == s
            }
        })
}

/// A head with `fields`, for the tests of what is checked in it.
#[cfg(test)]
pub(crate) fn head_with(fields: &[(&str, &str)], version: Version) -> Head {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::framing::framing;
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
            (b"GET / HTTP/0.9\r\n\r\n", 505),
            (b"GET / HTTP/3.1\r\nHost: x\r\n\r\n", 505),
            (b"GET / FOO/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.10\r\n\r\n", 400),
            (b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /a b HTTP/1.2\r\nHost: x\r\n\r\n", 400),
            (b"GET / HTTP/1\r\n\r\n", 400),
            (b"GET / HTTP/x.1\r\n\r\n", 400),
            (b"GET / http/1.1\r\n\r\n", 400),
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

    #[test]
    fn more_headers_than_the_stack_holds_are_read_up_to_the_limit() {
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        let count = STACK_HEADERS + 8;
        for i in 0..count {
            head.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let (parsed, used) = parse_head(&head, count).unwrap().unwrap();
        assert_eq!(used, head.len());
        let last = format!("X-{}", count - 1);
        assert_eq!(parsed.headers.get(&last), Some(&*(count - 1).to_string()));
        assert!(matches!(
            parse_head(&head, count - 1),
            Err(ReadError::Reject(431, _))
        ));
    }

    #[test]
    fn a_later_http_1_minor_version_is_read_as_1_1() {
        let (head, n) = parse_head(b"GET /a HTTP/1.7\r\nHost: x\r\n\r\n", 8)
            .unwrap()
            .unwrap();
        assert_eq!(head.version, Version::Http11);
        assert_eq!(head.target, "/a");
        assert_eq!(n, 28);
        // Until the request line ends, a version that could still be valid waits for more.
        for partial in [
            &b"GET / HTTP/1."[..],
            b"GET / HTTP/1.9",
            b"GET / HTTP/1.9\r\nHost",
        ] {
            assert!(matches!(parse_head(partial, 8), Ok(None)), "{partial:?}");
        }
    }
}
