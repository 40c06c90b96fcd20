//! One connection's life: read a request, dispatch it to the static files or the App, write
//! the response with the server's framing, and repeat while the connection is kept alive.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::access_log::{self, Entry};
use super::request::{self, Head, ReadError, RequestReader};
use super::response::{write_head, write_response};
use super::{file_cache, files, Shared};
use crate::http::{decode_path, reason, split_target, App, Request, Response, Version};

/// Serves one connection until it closes, an error ends it, or the server shuts down.
pub(crate) fn serve(
    stream: &TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    app: &dyn App,
    idle: &AtomicBool,
) {
    let config = &shared.config;
    // A client that stops reading must not hold a thread forever.
    if let Err(e) = stream.set_write_timeout(Some(config.idle_timeout)) {
        log::debug!("{peer}: {e}");
        return;
    }
    let mut reader = RequestReader::new(stream, config);
    let mut out = Vec::with_capacity(1024);
    loop {
        let (head, started) = match reader.read_head(idle, &shared.shutting_down) {
            Ok(pair) => pair,
            Err(ReadError::Closed) => return,
            Err(ReadError::Reject(status, why)) => {
                reject(stream, peer, None, status, why, &mut out);
                return;
            }
        };
        let req = match read_request(&mut reader, stream, head, peer) {
            Ok(req) => req,
            Err((head, ReadError::Reject(status, why))) => {
                reject(stream, peer, Some(&head), status, why, &mut out);
                return;
            }
            Err((_, ReadError::Closed)) => return,
        };

        let mut resp = dispatch(&req, shared, app);
        let keep_alive = wants_keep_alive(&req)
            && !shared.shutting_down.load(Ordering::SeqCst)
            && !resp.headers.has_token("Connection", "close");
        let written = write_response(stream, &req, &mut resp, keep_alive, &mut out);
        access_log::log(&Entry {
            peer,
            request: Some((&req.method, &req.target, req.version)),
            headers: Some(&req.headers),
            status: resp.status,
            bytes: written.as_ref().map_or(0, |w| w.body_bytes),
            started,
        });
        match written {
            Ok(w) if w.complete && keep_alive => {}
            // Everything the client sent was read: a plain close sends FIN, not a reset.
            Ok(w) if w.complete && !reader.has_buffered() => {
                let _ = stream.shutdown(Shutdown::Write);
                return;
            }
            Ok(_) => {
                linger_close(stream);
                return;
            }
            Err(e) => {
                log::debug!("{peer}: client went away mid-response: {e}");
                return;
            }
        }
    }
}

/// Validates the head and reads the body; on failure hands the head back for the log.
fn read_request(
    reader: &mut RequestReader<'_>,
    stream: &TcpStream,
    head: Head,
    peer: SocketAddr,
) -> Result<Request, (Head, ReadError)> {
    let checked = check_head(&head).and_then(|(target, path)| {
        let framing = request::framing(&head)?;
        expect_continue(&head, &framing, reader, stream)?;
        Ok((target, path, reader.read_body(&framing)?))
    });
    let (target, path, body) = match checked {
        Ok(parts) => parts,
        Err(e) => return Err((head, e)),
    };
    let query = split_target(&target).1.to_string();
    Ok(Request {
        method: head.method,
        target,
        path,
        query,
        version: head.version,
        headers: head.headers,
        body,
        peer: Some(peer),
    })
}

/// Checks what RFC 9112 requires of a head and returns the target in origin form with its
/// decoded path, before any body is read.
fn check_head(head: &Head) -> Result<(String, String), ReadError> {
    let hosts = head.headers.get_all("Host").count();
    if hosts > 1 || (head.version == Version::Http11 && hosts == 0) {
        return Err(ReadError::Reject(400, "missing or repeated Host"));
    }
    let target = origin_form(head)?;
    let path = decode_path(split_target(&target).0)
        .map_err(|_| ReadError::Reject(400, "path is not UTF-8"))?;
    Ok((target, path))
}

/// The target as a path: origin form as sent, `*` for `OPTIONS *`, or the path of the
/// absolute form (`GET http://host/path`), which servers must accept (RFC 9112, 3.2.2).
fn origin_form(head: &Head) -> Result<String, ReadError> {
    let t = head.target.as_str();
    if t.starts_with('/') || (t == "*" && head.method == "OPTIONS") {
        return Ok(t.to_string());
    }
    let lower = t.to_ascii_lowercase();
    for scheme in ["http://", "https://"] {
        if lower.starts_with(scheme) {
            let rest = &t[scheme.len()..];
            return Ok(match rest.find(['/', '?']) {
                Some(i) if rest[i..].starts_with('/') => rest[i..].to_string(),
                Some(i) => format!("/{}", &rest[i..]),
                None => "/".to_string(),
            });
        }
    }
    Err(ReadError::Reject(400, "request target is not a path"))
}

/// Answers `Expect: 100-continue` before the body is read, or refuses other expectations.
fn expect_continue(
    head: &Head,
    framing: &request::Framing,
    reader: &RequestReader<'_>,
    stream: &TcpStream,
) -> Result<(), ReadError> {
    let Some(expect) = head.headers.get("Expect") else {
        return Ok(());
    };
    if !expect.trim().eq_ignore_ascii_case("100-continue") {
        return Err(ReadError::Reject(417, "unsupported expectation"));
    }
    let has_body = !matches!(
        framing,
        request::Framing::None | request::Framing::Length(0)
    );
    if head.version == Version::Http11 && has_body && !reader.has_buffered() {
        (&*stream)
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| ReadError::Closed)?;
    }
    Ok(())
}

/// HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 only when asked `keep-alive`.
fn wants_keep_alive(req: &Request) -> bool {
    match req.version {
        Version::Http11 => !req.headers.has_token("Connection", "close"),
        Version::Http10 => req.headers.has_token("Connection", "keep-alive"),
    }
}

/// Sends `/` and `*.html` to the App, everything else to the static files; a directory path
/// ending in `/` is a static `index.html` when there is one.
fn dispatch(req: &Request, shared: &Shared, app: &dyn App) -> Response {
    let root = &shared.static_root;
    let cache_control = &shared.config.cache_control;
    if req.target == "*" {
        return Response::new(204).with_header("Allow", "GET, HEAD, POST, OPTIONS");
    }
    let static_index = req.path.ends_with('/')
        && matches!(
            shared.files.lookup(root, req.raw_path()),
            file_cache::Lookup::File(_)
        );
    if !static_index && (req.path == "/" || req.path.ends_with(".html")) {
        call_app(app, req)
    } else {
        files::serve(req, root, cache_control, &shared.files)
    }
}

/// Calls the App; a panic becomes a 500 for this request alone.
fn call_app(app: &dyn App, req: &Request) -> Response {
    match panic::catch_unwind(AssertUnwindSafe(|| app.call(req))) {
        Ok(resp) => resp,
        Err(cause) => {
            let what = cause
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| cause.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            log::error!("app panicked on {} {}: {what}", req.method, req.target);
            Response::error_page(500)
        }
    }
}

/// Answers a request the server refuses on its own, then closes.
fn reject(
    stream: &TcpStream,
    peer: SocketAddr,
    head: Option<&Head>,
    status: u16,
    why: &str,
    out: &mut Vec<u8>,
) {
    log::info!("{peer}: {status} {}: {why}", reason(status));
    let resp = Response::error_page(status);
    write_head(out, &resp, Some("close"));
    let body_bytes = resp.body.len();
    out.extend_from_slice(resp.body.as_bytes().unwrap_or_default());
    let sent = (&*stream).write_all(out).is_ok();
    access_log::log(&Entry {
        peer,
        request: head.map(|h| (h.method.as_str(), h.target.as_str(), h.version)),
        headers: head.map(|h| &h.headers),
        status,
        bytes: if sent { body_bytes } else { 0 },
        started: Instant::now(),
    });
    linger_close(stream);
}

/// Closes so that the client can read the last response: stop sending, then read and drop
/// what it is still sending for a moment, since closing with unread data would reset the
/// connection and could destroy the response in flight (nginx's "lingering close").
fn linger_close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 4096];
    let mut drained = 0usize;
    let mut s = stream;
    while drained < 1 << 20 {
        match s.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
