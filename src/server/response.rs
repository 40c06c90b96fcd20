//! Writing a response: the status line and the server's framing headers, then the body in as
//! few syscalls as it takes (one `write` for small bodies, `sendfile` for files). Every write
//! goes through the [`Sender`], which holds the send deadlines.

use std::io::{self, IoSlice, Read, Seek, SeekFrom};

use super::date;
use super::grammar::{is_safe_value, is_token};
use super::sender::Sender;
use crate::http::{reason, Body, Request, Response, Stream, Version};

/// Bodies up to this size are copied behind the head and sent with one `write`.
const COALESCE_LIMIT: usize = 16 * 1024;
/// Bytes handed to one `sendfile` call: small enough that progress is seen between calls.
#[cfg(target_os = "linux")]
const SENDFILE_CHUNK: usize = 1 << 20;

/// What was sent of a response.
pub(crate) struct Written {
    /// Body bytes that went out, however the response ended.
    pub body_bytes: u64,
    /// `Ok(true)` when the whole response went out; `Ok(false)` when a file body ended early
    /// (it shrank), which leaves the framing broken; `Err` when sending failed.
    pub outcome: io::Result<bool>,
}

/// Writes `resp` with the server's framing headers. HEAD, 204 and 304 get no body. A response
/// whose status or headers cannot be written safely becomes a 500 first.
pub(crate) fn write_response(
    sender: &mut Sender<'_>,
    req: &Request,
    resp: &mut Response,
    keep_alive: bool,
    out: &mut Vec<u8>,
) -> Written {
    if let Err(why) = check_response(resp) {
        log::error!(
            "{} {}: the app's response {why}; answering 500",
            req.method,
            req.target
        );
        *resp = Response::error_page(500);
    }
    let send_body = !is_bodiless(resp.status) && req.method != "HEAD";
    if is_bodiless(resp.status) {
        resp.body = Body::Empty;
    }
    let close_token = if keep_alive {
        (req.version == Version::Http10).then_some("keep-alive")
    } else {
        Some("close")
    };
    write_head(out, resp, close_token);
    let head_len = out.len() as u64;
    sender.begin();
    let outcome = if !send_body {
        sender.write_all(out).map(|()| true)
    } else {
        match &mut resp.body {
            Body::Empty | Body::Bytes(_) | Body::Shared(_) => {
                write_two(sender, out, resp.body.as_bytes().unwrap_or_default()).map(|()| true)
            }
            Body::File { file, start, len } => {
                send_file(sender, out, file, *start, *len).map(|sent| sent == *len)
            }
            Body::Stream(stream) => {
                let mut payload = 0;
                let outcome = send_stream(sender, out, stream, keep_alive, &mut payload);
                return Written {
                    body_bytes: payload,
                    outcome,
                };
            }
        }
    };
    Written {
        body_bytes: sender.sent().saturating_sub(head_len),
        outcome,
    }
}

/// Sends the head, then the stream's chunks as they come: with chunked framing when the
/// connection stays open, else delimited by the close. The head goes with the first chunk.
/// `Ok(false)` when the producer failed, which leaves the body cut short.
fn send_stream(
    sender: &mut Sender<'_>,
    head: &[u8],
    stream: &mut Stream,
    chunked: bool,
    payload: &mut u64,
) -> io::Result<bool> {
    let mut head = Some(head);
    loop {
        let chunk = match sender.producing(|| stream.next()) {
            Some(Ok(chunk)) if chunk.is_empty() => continue,
            Some(Ok(chunk)) => chunk,
            None => {
                let last: &[u8] = if chunked { b"0\r\n\r\n" } else { b"" };
                let mut parts = [IoSlice::new(head.unwrap_or_default()), IoSlice::new(last)];
                sender.write_all_vectored(&mut parts)?;
                return Ok(true);
            }
            Some(Err(e)) => {
                log::error!("the response body's producer failed: {e}; the body is cut short");
                if let Some(head) = head {
                    sender.write_all(head)?;
                }
                return Ok(false);
            }
        };
        let size_line = if chunked {
            format!("{:x}\r\n", chunk.len())
        } else {
            String::new()
        };
        let end: &[u8] = if chunked { b"\r\n" } else { b"" };
        let mut parts = [
            IoSlice::new(head.take().unwrap_or_default()),
            IoSlice::new(size_line.as_bytes()),
            IoSlice::new(&chunk),
            IoSlice::new(end),
        ];
        sender.write_all_vectored(&mut parts)?;
        *payload += chunk.len() as u64;
    }
}

/// Whether a status never carries a body (RFC 9110: 1xx, 204, 304).
fn is_bodiless(status: u16) -> bool {
    status < 200 || status == 204 || status == 304
}

/// Refuses what would corrupt the response or let an app inject one: a status outside
/// 100-999, a header name that is not a token, a value with CR, LF or NUL.
fn check_response(resp: &Response) -> Result<(), String> {
    if !(100..=999).contains(&resp.status) {
        return Err(format!("has status {}", resp.status));
    }
    for (name, value) in resp.headers.iter() {
        if !is_token(name) {
            return Err(format!("has a header name that is not a token: {name:?}"));
        }
        if !is_safe_value(value) {
            return Err(format!(
                "sets {name} to a value with CR, LF or NUL: {value:?}"
            ));
        }
    }
    Ok(())
}

/// Serialises the status line and headers into `out`.
pub(crate) fn write_head(out: &mut Vec<u8>, resp: &Response, connection: Option<&str>) {
    // Plain byte copies rather than `write!`: this runs for every response, and the
    // formatting machinery cost more than the rest of a cached answer's head.
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u64::from(resp.status));
    out.push(b' ');
    out.extend_from_slice(reason(resp.status).as_bytes());
    out.extend_from_slice(b"\r\nServer: miniweb\r\n");
    date::with_now(|d| header_line(out, "Date", d));
    for (name, value) in resp.headers.iter() {
        // Framing belongs to the server; whatever the app said about it is dropped.
        if is_framing_header(name) {
            continue;
        }
        header_line(out, name, value);
    }
    if !is_bodiless(resp.status) {
        match resp.body.len() {
            Some(len) => {
                out.extend_from_slice(b"Content-Length: ");
                push_decimal(out, len);
                out.extend_from_slice(b"\r\n");
            }
            // A stream on a connection that stays open; otherwise the close ends it.
            None if connection != Some("close") => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            }
            None => {}
        }
    }
    if let Some(c) = connection {
        header_line(out, "Connection", c);
    }
    out.extend_from_slice(b"\r\n");
}

/// `name: value` and the line's end.
fn header_line(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `n` in decimal digits.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

fn is_framing_header(name: &str) -> bool {
    [
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
        "Date",
        "Server",
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(name))
}

/// Sends head and body, with one `write` when the body is small.
fn write_two(sender: &mut Sender<'_>, head: &mut Vec<u8>, body: &[u8]) -> io::Result<()> {
    if body.len() <= COALESCE_LIMIT {
        head.extend_from_slice(body);
        return sender.write_all(head);
    }
    sender.write_all_vectored(&mut [IoSlice::new(head), IoSlice::new(body)])
}

/// Sends the head, then `len` bytes of `file` from `start`, without holding the file in
/// memory. Returns how many body bytes went out (fewer if the file shrank meanwhile).
///
/// On Linux the head goes with `MSG_MORE` and the body with `sendfile(2)`, so the kernel sends
/// from the page cache and fills the first packet; elsewhere (or where `sendfile` refuses the
/// file) it falls back to a plain copy.
fn send_file(
    sender: &mut Sender<'_>,
    head: &[u8],
    file: &mut std::fs::File,
    start: u64,
    len: u64,
) -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        if !sender.can_sendfile() {
            sender.write_all_more(head)?;
            return copy_file(sender, file, start, len);
        }
        if len > 0 {
            sender.write_all_more(head)?;
        } else {
            sender.write_all(head)?;
        }
        let end = start + len;
        let mut offset = start;
        while offset < end {
            let chunk = (end - offset).min(SENDFILE_CHUNK as u64) as usize;
            match sender.sendfile(file, &mut offset, chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if offset == start
                        && matches!(
                            rustix::io::Errno::from_io_error(&e),
                            Some(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS)
                        ) =>
                {
                    return copy_file(sender, file, start, len);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(offset - start)
    }
    #[cfg(not(target_os = "linux"))]
    {
        sender.write_all(head)?;
        copy_file(sender, file, start, len)
    }
}

/// The portable way: seek and copy through a buffer.
fn copy_file(
    sender: &mut Sender<'_>,
    file: &mut std::fs::File,
    start: u64,
    len: u64,
) -> io::Result<u64> {
    file.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut file = file.take(len);
    let mut copied = 0;
    loop {
        let n = match file.read(&mut buf) {
            // The head may still wait in the TLS buffer (an empty file, or one that shrank).
            Ok(0) => return sender.flush().map(|()| copied),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sender.write_all(&buf[..n])?;
        copied += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_is_written_byte_for_byte() {
        let resp = Response::new(404)
            .with_header("Content-Type", "text/plain")
            .with_header("Content-Length", "999")
            .with_body(Body::Bytes(vec![b'x'; 1234567]));
        let mut out = Vec::new();
        write_head(&mut out, &resp, Some("close"));
        let head = String::from_utf8(out).unwrap();
        let (first, rest) = head.split_once("\r\nServer: miniweb\r\nDate: ").unwrap();
        assert_eq!(first, "HTTP/1.1 404 Not Found");
        let (_date, rest) = rest.split_once("\r\n").unwrap();
        assert_eq!(
            rest,
            "Content-Type: text/plain\r\nContent-Length: 1234567\r\nConnection: close\r\n\r\n"
        );
        for n in [0, 7, 10, 99, 100, u64::MAX] {
            let mut digits = Vec::new();
            push_decimal(&mut digits, n);
            assert_eq!(digits, n.to_string().into_bytes());
        }
    }

    #[test]
    fn unsafe_statuses_and_headers_are_refused() {
        let ok = Response::new(200).with_header("X-Fine", "a b\tc");
        assert!(check_response(&ok).is_ok());
        let bad = [
            Response::new(200).with_header("X-Evil", "a\r\nSet-Cookie: x=1"),
            Response::new(200).with_header("X-Evil", "a\nb"),
            Response::new(200).with_header("X-Evil", "a\0b"),
            Response::new(200).with_header("Bad Name", "v"),
            Response::new(200).with_header("Bad:Name", "v"),
            Response::new(200).with_header("", "v"),
            Response::new(1000),
            Response::new(42),
        ];
        for resp in &bad {
            assert!(check_response(resp).is_err(), "{resp:?}");
        }
    }
}
