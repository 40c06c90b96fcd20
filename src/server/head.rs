//! A request head: parsed with `httparse`, then checked for what RFC 9112 requires before any
//! body is read (the version, exactly one valid `Host`, a usable target, the body's framing).

use super::settings::MAX_HEADERS_CEILING;
use crate::http::{decode_path, split_target, Headers, Version};

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

/// The request-target of a checked head, as the application sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// In origin form (`/path?query`), or `*`.
    pub target: String,
    /// The path, percent-decoded.
    pub path: String,
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

/// Checks what RFC 9112 requires of a head before any body is read: exactly one `Host` in
/// HTTP/1.1 (at most one in 1.0), a valid authority in it and in an absolute-form target, and
/// a target that is a path. An absolute-form target's authority replaces `Host`, which the
/// server must then ignore (RFC 9112, section 3.2.2).
pub(crate) fn check(head: &mut Head) -> Result<Target, ReadError> {
    let host_ok = {
        let mut hosts = head.headers.get_all("Host");
        let host_ok = hosts.next().map(|h| valid_authority(h.trim()));
        if hosts.next().is_some() {
            return Err(ReadError::Reject(400, "repeated Host"));
        }
        host_ok
    };
    match host_ok {
        None if head.version == Version::Http11 => {
            return Err(ReadError::Reject(400, "missing Host"))
        }
        Some(false) => return Err(ReadError::Reject(400, "invalid Host")),
        _ => {}
    }
    let (target, authority) = origin_form(head)?;
    if let Some(authority) = authority {
        head.headers.set("Host", authority);
    }
    let path = decode_path(split_target(&target).0)
        .map_err(|_| ReadError::Reject(400, "path is not UTF-8"))?;
    Ok(Target { target, path })
}

/// The target as a path, with the authority when it came in absolute form: origin form as
/// sent, `*` for `OPTIONS *`, or the parts of `http://host/path`, which servers must accept
/// (RFC 9112, section 3.2.2).
fn origin_form(head: &Head) -> Result<(String, Option<String>), ReadError> {
    let t = head.target.as_str();
    if t.starts_with('/') || (t == "*" && head.method == "OPTIONS") {
        return Ok((t.to_string(), None));
    }
    let lower = t.to_ascii_lowercase();
    for scheme in ["http://", "https://"] {
        if lower.starts_with(scheme) {
            let rest = &t[scheme.len()..];
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let authority = &rest[..end];
            if authority.is_empty() || !valid_authority(authority) {
                return Err(ReadError::Reject(400, "invalid authority in the target"));
            }
            let path = match &rest[end..] {
                "" => "/".to_string(),
                p if p.starts_with('/') => p.to_string(),
                q => format!("/{q}"),
            };
            return Ok((path, Some(authority.to_string())));
        }
    }
    Err(ReadError::Reject(400, "request target is not a path"))
}

/// Whether `s` is `uri-host [ ":" port ]` (RFC 9112 section 3.2, RFC 3986 section 3.2.2): a
/// registered name or IPv4 address, or an IP literal in brackets, then an optional port of at
/// most five digits. User information (`user@host`) is not allowed.
pub(crate) fn valid_authority(s: &str) -> bool {
    let (host_ok, port) = match s.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((literal, after)) => (
                valid_ip_literal(literal),
                match after {
                    "" => None,
                    a => match a.strip_prefix(':') {
                        Some(p) => Some(p),
                        None => return false,
                    },
                },
            ),
            None => return false,
        },
        None => match s.split_once(':') {
            Some((host, port)) => (valid_reg_name(host), Some(port)),
            None => (valid_reg_name(s), None),
        },
    };
    // An empty host (`Host: `, `Host: :80`) is no authority: RFC 9110, section 4.2.1.
    let host_ok = host_ok && !s.is_empty() && !s.starts_with(':');
    host_ok && port.is_none_or(|p| p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`, which also covers IPv4 addresses.
fn valid_reg_name(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
                continue;
            }
            c if c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&c) => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// An IPv6 address, or `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`.
fn valid_ip_literal(s: &str) -> bool {
    if s.parse::<std::net::Ipv6Addr>().is_ok() {
        return true;
    }
    let Some(rest) = s.strip_prefix(['v', 'V']) else {
        return false;
    };
    let Some((version, addr)) = rest.split_once('.') else {
        return false;
    };
    !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_hexdigit())
        && !addr.is_empty()
        && addr
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:".contains(&c))
}

/// Whether `s` is an RFC 9110 token (`1*tchar`), as a method or field name must be.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// `tchar`: the bytes a token is made of.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
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
        // RFC 9112, section 6.3: unless chunked comes last (and once), the body's length
        // cannot be known, which is a 400 and a close; a coding we do not know is a 501.
        let chunked = |c: &&str| c.eq_ignore_ascii_case("chunked");
        return match codings.as_slice() {
            [only] if chunked(only) => Ok(Framing::Chunked),
            [.., last] if !chunked(last) => Err(ReadError::Reject(
                400,
                "chunked is not the last transfer coding",
            )),
            [first @ .., _] if first.iter().any(chunked) => {
                Err(ReadError::Reject(400, "chunked applied more than once"))
            }
            _ => Err(ReadError::Reject(501, "unsupported transfer coding")),
        };
    }
    let Some(first) = lengths.first() else {
        return Ok(Framing::None);
    };
    if lengths.iter().any(|l| l != first) {
        return Err(ReadError::Reject(400, "conflicting Content-Length values"));
    }
    match parse_digits(first) {
        Some(n) => Ok(Framing::Length(n)),
        None => Err(ReadError::Reject(400, "invalid Content-Length")),
    }
}

/// A decimal number of digits only (no sign, no space); one too large for a `u64` is
/// `u64::MAX`, which every limit refuses. `None` when empty or not all digits.
pub(crate) fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: the only way to fail is overflow.
    Some(s.parse().unwrap_or(u64::MAX))
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
            (&[("Transfer-Encoding", "gzip")], 400),
            (&[("Transfer-Encoding", "chunked, gzip")], 400),
            (&[("Transfer-Encoding", "gzip, chunked")], 501),
            (&[("Transfer-Encoding", "chunked, chunked")], 400),
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

    #[test]
    fn authorities_follow_the_uri_grammar() {
        let good = [
            "example.com",
            "example.com:8080",
            "EXAMPLE.com:",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8080",
            "[2001:db8::7]",
            "[v1.fe:80]",
            "xn--fiqs8s.example",
            "a-b_c~d.e",
            "%41bc",
        ];
        for a in good {
            assert!(valid_authority(a), "{a:?} should be valid");
        }
        let bad = [
            "a b",
            "exa/mple",
            "exa\x01mple",
            "exa\tmple",
            "host:abc",
            "host:80x",
            "host:123456",
            "host:80:81",
            "user@host",
            "",
            ":80",
            "[::1",
            "::1",
            "[zz]",
            "[::1]x",
            "[::1]:8a",
            "%4",
            "%zz",
            "ex\"ample",
            "例子.com",
        ];
        for a in bad {
            assert!(!valid_authority(a), "{a:?} should be invalid");
        }
    }

    fn checked(
        target: &str,
        hosts: &[&str],
        version: Version,
    ) -> Result<(Target, Head), ReadError> {
        let mut headers = Headers::new();
        for h in hosts {
            headers.append("Host", *h);
        }
        let mut head = Head {
            method: "GET".into(),
            target: target.into(),
            version,
            headers,
        };
        check(&mut head).map(|t| (t, head))
    }

    #[test]
    fn host_must_be_one_valid_authority() {
        use Version::*;
        let rejected: &[(&str, &[&str], Version)] = &[
            ("/", &[], Http11),
            ("/", &["a", "b"], Http11),
            ("/", &["a", "a"], Http10),
            ("/", &["a b"], Http11),
            ("/", &["exa/mple"], Http11),
            ("/", &["x:y"], Http11),
            ("http://a b/x", &["t"], Http11),
            ("http:///x", &["t"], Http11),
            ("http://u@h/x", &["t"], Http11),
            ("nohost", &["t"], Http11),
            ("*", &["t"], Http11),
        ];
        for (target, hosts, version) in rejected {
            assert!(
                matches!(
                    checked(target, hosts, *version),
                    Err(ReadError::Reject(400, _))
                ),
                "{target} {hosts:?}"
            );
        }
        assert!(checked("/", &[], Http10).is_ok());
        assert!(checked("/", &["[::1]:8080"], Http11).is_ok());
        let (t, head) = checked("http://real.example:81/p%20q?x=1", &["other"], Http11).unwrap();
        assert_eq!(t.target, "/p%20q?x=1");
        assert_eq!(t.path, "/p q");
        assert_eq!(head.headers.get("Host"), Some("real.example:81"));
        let (t, _) = checked("https://h?q", &["h"], Http11).unwrap();
        assert_eq!(t.target, "/?q");
    }

    #[test]
    fn content_length_is_digits_only() {
        assert_eq!(parse_digits("0"), Some(0));
        assert_eq!(parse_digits("0012"), Some(12));
        assert_eq!(parse_digits("99999999999999999999999"), Some(u64::MAX));
        for bad in ["", " 1", "1 ", "+1", "-1", "1e3", "0x10", "1_0"] {
            assert_eq!(parse_digits(bad), None, "{bad:?}");
        }
    }
}
