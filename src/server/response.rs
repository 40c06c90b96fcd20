//! Writing a response: the status line and the server's framing headers, then the body in as
//! few syscalls as it takes (one `write` for small bodies, `sendfile` for files).

use std::io::{self, IoSlice, Read, Seek, SeekFrom, Write};
use std::net::TcpStream;

use super::date;
use crate::http::{reason, Body, Request, Response, Version};

/// Bodies up to this size are copied behind the head and sent with one `write`.
const COALESCE_LIMIT: usize = 16 * 1024;

/// What was sent of a response.
pub(crate) struct Written {
    pub body_bytes: u64,
    /// False when a file body ended early, which leaves the framing broken.
    pub complete: bool,
}

/// Writes `resp` with the server's framing headers. HEAD, 204 and 304 get no body.
pub(crate) fn write_response(
    stream: &TcpStream,
    req: &Request,
    resp: &mut Response,
    keep_alive: bool,
    out: &mut Vec<u8>,
) -> io::Result<Written> {
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
    let mut stream = stream;
    let len = resp.body.len();
    if !send_body {
        stream.write_all(out)?;
        return Ok(Written {
            body_bytes: 0,
            complete: true,
        });
    }
    match &mut resp.body {
        Body::Empty | Body::Bytes(_) | Body::Shared(_) => {
            write_two(&mut stream, out, resp.body.as_bytes().unwrap_or_default())?
        }
        Body::File { file, start, len } => {
            let sent = send_file(&mut stream, out, file, *start, *len)?;
            return Ok(Written {
                body_bytes: sent,
                complete: sent == *len,
            });
        }
    }
    Ok(Written {
        body_bytes: len,
        complete: true,
    })
}

/// Whether a status never carries a body (RFC 9110: 1xx, 204, 304).
fn is_bodiless(status: u16) -> bool {
    status < 200 || status == 204 || status == 304
}

/// Serialises the status line and headers into `out`.
pub(crate) fn write_head(out: &mut Vec<u8>, resp: &Response, connection: Option<&str>) {
    // Writing into a Vec cannot fail.
    out.clear();
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\nServer: miniweb\r\n",
        resp.status,
        reason(resp.status)
    );
    date::with_now(|d| {
        let _ = write!(out, "Date: {d}\r\n");
    });
    for (name, value) in resp.headers.iter() {
        // Framing belongs to the server; whatever the app said about it is dropped.
        if is_framing_header(name) {
            continue;
        }
        let _ = write!(out, "{name}: {value}\r\n");
    }
    if !is_bodiless(resp.status) {
        let _ = write!(out, "Content-Length: {}\r\n", resp.body.len());
    }
    if let Some(c) = connection {
        let _ = write!(out, "Connection: {c}\r\n");
    }
    out.extend_from_slice(b"\r\n");
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
fn write_two(stream: &mut &TcpStream, head: &mut Vec<u8>, body: &[u8]) -> io::Result<()> {
    if body.len() <= COALESCE_LIMIT {
        head.extend_from_slice(body);
        return stream.write_all(head);
    }
    let mut bufs = [IoSlice::new(head), IoSlice::new(body)];
    let mut bufs: &mut [IoSlice<'_>] = &mut bufs;
    while !bufs.is_empty() {
        match stream.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends the head, then `len` bytes of `file` from `start`, without holding the file in
/// memory. Returns how many body bytes went out (fewer if the file shrank meanwhile).
///
/// On Linux the head goes with `MSG_MORE` and the body with `sendfile(2)`, so the kernel sends
/// from the page cache and fills the first packet; elsewhere (or where `sendfile` refuses the
/// file) it falls back to a plain copy.
fn send_file(
    stream: &mut &TcpStream,
    head: &[u8],
    file: &mut std::fs::File,
    start: u64,
    len: u64,
) -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        use rustix::io::Errno;
        use rustix::net::SendFlags;

        let more = if len > 0 {
            SendFlags::MORE
        } else {
            SendFlags::empty()
        };
        let mut sent_head = 0;
        while sent_head < head.len() {
            match rustix::net::send(*stream, &head[sent_head..], more) {
                Ok(n) => sent_head += n,
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let end = start + len;
        let mut offset = start;
        while offset < end {
            let chunk = (end - offset).min(1 << 30) as usize;
            match rustix::fs::sendfile(*stream, &*file, Some(&mut offset), chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(Errno::INTR) => {}
                Err(Errno::INVAL | Errno::NOSYS) if offset == start => {
                    return copy_file(stream, file, start, len);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(offset - start)
    }
    #[cfg(not(target_os = "linux"))]
    {
        stream.write_all(head)?;
        copy_file(stream, file, start, len)
    }
}

/// The portable way: seek and copy through a buffer.
fn copy_file(
    stream: &mut &TcpStream,
    file: &mut std::fs::File,
    start: u64,
    len: u64,
) -> io::Result<u64> {
    file.seek(SeekFrom::Start(start))?;
    io::copy(&mut file.take(len), stream)
}
