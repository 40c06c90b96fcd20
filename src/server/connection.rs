//! One connection's life: read a request, have it answered (`dispatch.rs`), write the
//! response with the server's framing, log it, and repeat while the connection is kept alive.
//! Every phase runs against its deadline (see `request.rs`, `body.rs` and `sender.rs`). Over
//! HTTPS the TLS handshake comes first, within the header timeout; then the same loop runs on
//! the decrypted bytes.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use super::access_log::LogLine;
use super::activity::{Activity, Phase};
use super::basic_auth::Verdict;
use super::body;
use super::dispatch::dispatch;
use super::framing::{self, Framing};
use super::head::{Head, ReadError};
use super::request::RequestReader;
use super::response::{write_head, write_response};
use super::sender::Sender;
use super::state::ServerState;
use super::target;
#[cfg(feature = "tls")]
use super::tls::Tls;
#[cfg(feature = "tls")]
use super::tls_stream::{HandshakeError, TlsStream};
use super::transport::Transport;
use crate::http::{reason, split_target, App, Request, Response, Version};

/// Most bytes a lingering close reads and drops before it gives up on a client.
const LINGER_MAX_BYTES: usize = 1 << 20;

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listening {
    /// HTTP.
    Http,
    /// HTTPS, with the server's certificate.
    Https,
    /// HTTP that answers every request with a redirect to HTTPS on this port.
    RedirectToHttps(u16),
}

/// An accepted connection and what serving it needs, passed whole from the acceptor down to
/// the request loop.
#[derive(Clone, Copy)]
pub(crate) struct Accepted<'a> {
    /// The client's address (the proxy's, behind one).
    pub peer: SocketAddr,
    /// When `accept` returned: the header timeout of the first request counts from here.
    pub at: Instant,
    /// The server's state shared by every connection.
    pub state: &'a ServerState,
    /// The application requests are dispatched to.
    pub app: &'a dyn App,
    /// This connection's phase, which the caps read to pick a connection to close.
    pub activity: &'a Activity,
}

/// Serves one connection until it closes, an error or a deadline ends it, or the server shuts
/// down.
pub(crate) fn serve(stream: &TcpStream, conn: &Accepted<'_>, listening: Listening) {
    match (listening, &conn.state.tls) {
        (Listening::Http, _) => serve_on(&Transport::Plain(stream), None, conn),
        (Listening::RedirectToHttps(port), _) => {
            serve_on(&Transport::Plain(stream), Some(port), conn)
        }
        #[cfg(feature = "tls")]
        (Listening::Https, Some(tls)) => serve_tls(tls, stream, conn),
        #[cfg(not(feature = "tls"))]
        (Listening::Https, Some(tls)) => match *tls {},
        (Listening::Https, None) => {}
    }
}

/// The TLS handshake, then [`serve_on`] over it. A function of its own, never inlined: rustls's
/// connection state is a few KiB on the stack while it is set up, and a plain connection's
/// thread should not carry that frame (every connection thread's touched stack is resident).
#[cfg(feature = "tls")]
#[inline(never)]
fn serve_tls(tls: &Tls, stream: &TcpStream, conn: &Accepted<'_>) {
    let peer = conn.peer;
    let tls = match tls.accept() {
        Ok(tls) => TlsStream::new(stream, tls),
        Err(e) => {
            log::error!("{peer}: cannot start TLS: {e}");
            return;
        }
    };
    conn.activity.enter(Phase::Head);
    match tls.handshake(conn.at + conn.state.config.header_timeout) {
        Ok(()) => {
            log::debug!("{peer}: TLS handshake done ({})", tls.agreed());
            serve_on(&Transport::Tls(Box::new(tls)), None, conn);
        }
        // `http://` to the HTTPS port: answered in clear with the way to `https://`.
        Err(HandshakeError::PlainHttp) => {
            let port = stream.local_addr().map_or(443, |a| a.port());
            serve_on(&Transport::Plain(stream), Some(port), conn);
        }
        Err(e @ (HandshakeError::Closed | HandshakeError::Io(_))) => {
            log::debug!("{peer}: TLS handshake: {e}");
        }
        Err(e) => log::info!("{peer}: TLS handshake failed: {e}"),
    }
}

/// Serves requests off `transport`; with `redirect`, answers each with the way to HTTPS on
/// that port instead of dispatching it.
fn serve_on(transport: &Transport<'_>, redirect: Option<u16>, conn: &Accepted<'_>) {
    let config = &conn.state.config;
    let sender = Sender::new(
        transport,
        conn.activity,
        config.send_timeout,
        config.send_min_rate,
    );
    let sender = match sender {
        Ok(s) => s,
        Err(e) => {
            log::debug!("{}: {e}", conn.peer);
            return;
        }
    };
    let mut connection = Connection {
        reader: RequestReader::new(transport, config, conn.activity, conn.at),
        sender,
        transport,
        out: Vec::with_capacity(1024),
        conn,
    };
    while connection.exchange(redirect) {}
}

/// One connection's reading and writing ends, with what serving it needs.
struct Connection<'a> {
    reader: RequestReader<'a>,
    sender: Sender<'a>,
    transport: &'a Transport<'a>,
    /// The response head (and a small body) is assembled here, reused from one to the next.
    out: Vec<u8>,
    conn: &'a Accepted<'a>,
}

impl Connection<'_> {
    /// Reads one request, answers it, writes the answer and logs it; `false` once the
    /// connection is to close (it then is closed).
    fn exchange(&mut self, redirect: Option<u16>) -> bool {
        let Accepted {
            peer, state, app, ..
        } = *self.conn;
        let (head, started) = match self.reader.read_head(state.live.shutdown_flag()) {
            Ok(pair) => pair,
            Err(ReadError::Closed) => return false,
            Err(ReadError::Reject(status, why)) => return self.reject(None, status, why),
        };
        let (mut req, verdict) = match self.read_request(head, redirect.is_some()) {
            Ok(pair) => pair,
            Err((head, ReadError::Reject(status, why))) => {
                return self.reject(Some(&head), status, why)
            }
            Err((_, ReadError::Closed)) => return false,
        };

        self.conn.activity.enter(Phase::Working);
        // The access log shows the target as sent, whatever a rewrite made of it.
        let sent_target = state
            .config
            .rules
            .has_rewrites()
            .then(|| req.target.clone());
        // Behind a trusted proxy the per-address limit counts the forwarded client's requests.
        let slot = state.enter_forwarded(&req);
        let mut resp = match slot {
            Err(client) => {
                log::warn!("{client} (via {peer}): per-address limit reached, answering 429");
                Response::error_page(429).with_header("Retry-After", "1")
            }
            Ok(_) => dispatch(&mut req, verdict, state, app, redirect),
        };
        // An HTTP/1.0 client cannot read chunked framing: a stream ends with the close.
        let close_delimited = req.version == Version::Http10 && resp.body.len().is_none();
        let keep_alive = wants_keep_alive(&req)
            && !close_delimited
            && !state.live.is_shutting_down()
            && !resp.headers.has_token("Connection", "close");
        let written = write_response(&mut self.sender, &req, &mut resp, keep_alive, &mut self.out);
        drop(slot);
        let took = started.elapsed();
        state
            .metrics
            .record(&req.method, resp.status, written.body_bytes, took);
        let target = sent_target.as_deref().unwrap_or(&req.target);
        state.access_log.log(&LogLine {
            client: req.client.unwrap_or(peer.ip()),
            request: Some((&req.method, target, req.version)),
            headers: Some(&req.headers),
            status: resp.status,
            bytes: written.body_bytes,
            started,
            timing: resp.headers.get("Server-Timing"),
        });
        match written.outcome {
            Ok(true) if keep_alive => true,
            // Everything the client sent was read: a plain close sends FIN, not a reset.
            Ok(true) if !self.reader.has_buffered() => {
                self.transport.close_write();
                false
            }
            Ok(_) => {
                self.linger_close();
                false
            }
            Err(e) => {
                log::debug!("{peer}: response abandoned: {e}");
                false
            }
        }
    }

    /// Validates the head, judges it by basic auth (unless the listener only `redirects` to
    /// HTTPS) and reads the body within the limit that verdict allows; on failure hands the
    /// head back for the log.
    fn read_request(
        &mut self,
        mut head: Head,
        redirects: bool,
    ) -> Result<(Request, Verdict), (Head, ReadError)> {
        let state = self.conn.state;
        let checked = target::check(&mut head).and_then(|target| {
            let framing = framing::framing(&head)?;
            let raw_path = split_target(&target.target).0;
            let verdict = match redirects {
                true => Verdict::Open,
                false => state.verdict(&head, raw_path),
            };
            let limit = state.body_limit(&head, raw_path, &verdict);
            expect_continue(&head, &framing, &self.reader, &mut self.sender)?;
            let body = body::read_body(&mut self.reader, &framing, limit)?;
            Ok((target, body, verdict))
        });
        let (target, body, verdict) = match checked {
            Ok(parts) => parts,
            Err(e) => return Err((head, e)),
        };
        let query = split_target(&target.target).1.to_string();
        let peer = self.conn.peer;
        let config = &state.config;
        let (client, origin) = config.trusted_proxies.client_and_origin(
            peer,
            &head.headers,
            self.transport.is_tls(),
            config.public_origin.as_deref(),
        );
        let req = Request {
            method: head.method,
            target: target.target,
            path: target.path,
            query,
            version: head.version,
            headers: head.headers,
            body,
            peer: Some(peer),
            client: Some(client),
            origin,
        };
        Ok((req, verdict))
    }

    /// Answers a request the server refuses on its own, then closes; always `false`, the
    /// connection's end.
    fn reject(&mut self, head: Option<&Head>, status: u16, why: &str) -> bool {
        let peer = self.conn.peer;
        log::info!("{peer}: {status} {}: {why}", reason(status));
        let started = Instant::now();
        let state = self.conn.state;
        let resp = state.error_pages.for_status(status);
        let out = &mut self.out;
        write_head(out, &resp, Some("close"));
        let head_len = out.len() as u64;
        out.extend_from_slice(resp.body.as_bytes().unwrap_or_default());
        self.sender.begin();
        if let Err(e) = self.sender.write_all(out) {
            log::debug!("{peer}: {e}");
        }
        let body_bytes = self.sender.sent().saturating_sub(head_len);
        let method = head.map_or("other", |h| h.method.as_str());
        state
            .metrics
            .record(method, status, body_bytes, started.elapsed());
        state.access_log.log(&LogLine {
            client: peer.ip(),
            request: head.map(|h| (h.method.as_str(), h.target.as_str(), h.version)),
            headers: head.map(|h| &h.headers),
            status,
            bytes: body_bytes,
            started,
            timing: None,
        });
        self.linger_close();
        false
    }

    /// Closes so that the client can read the last response: stop sending, then read and
    /// drop what it is still sending for at most `linger_timeout` in all, since closing with
    /// unread data would reset the connection and could destroy the response in flight
    /// (nginx's "lingering close").
    fn linger_close(&self) {
        self.conn.activity.enter(Phase::Linger);
        self.transport.close_write();
        // What still comes is dropped unread, TLS records included.
        let stream = self.transport.tcp();
        let deadline = Instant::now() + self.conn.state.config.linger_timeout;
        let mut sink = [0u8; 4096];
        let mut drained = 0usize;
        while drained < LINGER_MAX_BYTES {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match (&*stream).read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }
}

/// Answers `Expect: 100-continue` before the body is read, or refuses other expectations.
fn expect_continue(
    head: &Head,
    framing: &Framing,
    reader: &RequestReader<'_>,
    sender: &mut Sender<'_>,
) -> Result<(), ReadError> {
    let Some(expect) = head.headers.get("Expect") else {
        return Ok(());
    };
    if !expect.trim().eq_ignore_ascii_case("100-continue") {
        return Err(ReadError::Reject(417, "unsupported expectation"));
    }
    let has_body = !matches!(framing, Framing::None | Framing::Length(0));
    if head.version == Version::Http11 && has_body && !reader.has_buffered() {
        sender.begin();
        sender
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_is_the_default_of_1_1_only() {
        use Version::*;
        type Case<'a> = (Version, &'a [(&'a str, &'a str)], bool);
        let table: &[Case] = &[
            (Http11, &[], true),
            (Http11, &[("Connection", "close")], false),
            (Http11, &[("Connection", "Upgrade, Close")], false),
            (Http10, &[], false),
            (Http10, &[("Connection", "keep-alive")], true),
            (Http10, &[("Connection", "Keep-Alive, TE")], true),
        ];
        for (version, headers, keep) in table {
            let req = Request::fake_with("GET", "/", *version, headers);
            assert_eq!(wants_keep_alive(&req), *keep, "{version} {headers:?}");
        }
    }
}
