//! One connection's life: read a request, dispatch it to the static files or the App, write
//! the response with the server's framing, and repeat while the connection is kept alive.
//! Every phase runs against its deadline (see `request.rs`, `body.rs` and `sender.rs`). Over
//! HTTPS the TLS handshake comes first, within the header timeout; then the same loop runs on
//! the decrypted bytes.

use std::io::Read;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::access_log::{AccessLogger, LogLine};
use super::activity::{Activity, Phase};
use super::body;
use super::forwarded;
use super::framing::{self, Framing};
use super::head::{Head, ReadError};
use super::request::RequestReader;
use super::response::{write_head, write_response};
use super::sender::Sender;
use super::settings::ServerConfig;
use super::shared::Shared;
use super::static_files::Cached;
use super::target;
#[cfg(feature = "tls")]
use super::tls::Tls;
#[cfg(feature = "tls")]
use super::tls_stream::{HandshakeError, TlsStream};
use super::transport::Transport;
use crate::http::{reason, split_target, App, Authority, Headers, Request, Response, Version};

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
    pub shared: &'a Shared,
    /// The application requests are dispatched to.
    pub app: &'a dyn App,
    /// This connection's phase, which the caps read to pick a connection to close.
    pub activity: &'a Activity,
}

/// Serves one connection until it closes, an error or a deadline ends it, or the server shuts
/// down.
pub(crate) fn serve(stream: &TcpStream, conn: &Accepted<'_>, listening: Listening) {
    match (listening, &conn.shared.tls) {
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
    match tls.handshake(conn.at + conn.shared.config.header_timeout) {
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
    let Accepted {
        peer,
        at: accepted,
        shared,
        app,
        activity,
    } = *conn;
    let config = &shared.config;
    let mut sender = match Sender::new(
        transport,
        activity,
        config.send_timeout,
        config.send_min_rate,
    ) {
        Ok(s) => s,
        Err(e) => {
            log::debug!("{peer}: {e}");
            return;
        }
    };
    let mut reader = RequestReader::new(transport, config, activity, accepted);
    let mut out = Vec::with_capacity(1024);
    loop {
        let (head, started) = match reader.read_head(&shared.shutting_down) {
            Ok(pair) => pair,
            Err(ReadError::Closed) => return,
            Err(ReadError::Reject(status, why)) => {
                reject(
                    &shared.access_log,
                    &mut sender,
                    peer,
                    None,
                    status,
                    why,
                    &mut out,
                );
                linger_close(transport, activity, config.linger_timeout);
                return;
            }
        };
        let req = match read_request(&mut reader, &mut sender, head, peer, config, transport) {
            Ok(req) => req,
            Err((head, ReadError::Reject(status, why))) => {
                reject(
                    &shared.access_log,
                    &mut sender,
                    peer,
                    Some(&head),
                    status,
                    why,
                    &mut out,
                );
                linger_close(transport, activity, config.linger_timeout);
                return;
            }
            Err((_, ReadError::Closed)) => return,
        };

        activity.enter(Phase::Working);
        // Behind a trusted proxy the per-address limit counts the forwarded client's requests.
        let slot = shared.enter_forwarded(&req);
        let mut resp = match slot {
            Err(client) => {
                log::warn!("{client} (via {peer}): per-address limit reached, answering 429");
                Response::error_page(429).with_header("Retry-After", "1")
            }
            Ok(_) => match redirect {
                Some(port) => to_https(&req, port),
                None => dispatch(&req, shared, app),
            },
        };
        // An HTTP/1.0 client cannot read chunked framing: a stream ends with the close.
        let close_delimited = req.version == Version::Http10 && resp.body.len().is_none();
        let keep_alive = wants_keep_alive(&req)
            && !close_delimited
            && !shared.shutting_down.load(Ordering::SeqCst)
            && !resp.headers.has_token("Connection", "close");
        let written = write_response(&mut sender, &req, &mut resp, keep_alive, &mut out);
        drop(slot);
        shared.access_log.log(&LogLine {
            client: req.client.unwrap_or(peer.ip()),
            request: Some((&req.method, &req.target, req.version)),
            headers: Some(&req.headers),
            status: resp.status,
            bytes: written.body_bytes,
            started,
            timing: resp.headers.get("Server-Timing"),
        });
        match written.outcome {
            Ok(true) if keep_alive => {}
            // Everything the client sent was read: a plain close sends FIN, not a reset.
            Ok(true) if !reader.has_buffered() => {
                transport.close_write();
                return;
            }
            Ok(_) => {
                linger_close(transport, activity, config.linger_timeout);
                return;
            }
            Err(e) => {
                log::debug!("{peer}: response abandoned: {e}");
                return;
            }
        }
    }
}

/// Validates the head and reads the body; on failure hands the head back for the log.
fn read_request(
    reader: &mut RequestReader<'_>,
    sender: &mut Sender<'_>,
    mut head: Head,
    peer: SocketAddr,
    config: &ServerConfig,
    transport: &Transport<'_>,
) -> Result<Request, (Head, ReadError)> {
    let checked = target::check(&mut head).and_then(|target| {
        let framing = framing::framing(&head)?;
        expect_continue(&head, &framing, reader, sender)?;
        Ok((target, body::read_body(reader, &framing)?))
    });
    let (target, body) = match checked {
        Ok(parts) => parts,
        Err(e) => return Err((head, e)),
    };
    let query = split_target(&target.target).1.to_string();
    let (client, mut origin) = behind_proxies(peer, &head.headers, config);
    if origin.is_none() && transport.is_tls() {
        // Over HTTPS the browser's Origin says `https://` and the Host it sent.
        origin = head
            .headers
            .get("Host")
            .map(|host| format!("https://{}", host.trim()));
    }
    Ok(Request {
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
    })
}

/// The client's address and the site's public origin, as far as the server knows them: the
/// peer and nothing, unless the peer is a trusted proxy that forwarded them, or the config
/// fixes the origin (`public_origin`).
fn behind_proxies(
    peer: SocketAddr,
    headers: &Headers,
    config: &ServerConfig,
) -> (IpAddr, Option<String>) {
    if config.trusted_proxies.is_empty() {
        return (peer.ip(), config.public_origin.clone());
    }
    let seen = forwarded::resolve(peer.ip(), headers, &config.trusted_proxies);
    let origin = config.public_origin.clone().or_else(|| {
        let host = seen.host.as_deref().or_else(|| headers.get("Host"))?.trim();
        let scheme = seen
            .proto
            .as_deref()
            .filter(|p| matches!(*p, "http" | "https"));
        (seen.host.is_some() || scheme.is_some())
            .then(|| format!("{}://{host}", scheme.unwrap_or("http")))
    });
    (seen.client, origin)
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

/// The way from `http://` to `https://` for the same host and target: 301 for GET and HEAD,
/// 308 (which keeps the method and body) for the others.
fn to_https(req: &Request, port: u16) -> Response {
    // `[::1]:8080` or `example.com:8080`: the host without the port.
    let host = req.header("Host").unwrap_or_default().trim();
    let Some(Authority { host: name, .. }) = Authority::parse(host) else {
        // HTTP/1.0 without a Host: there is no name to send the client to.
        return Response::error_page(400);
    };
    let target = if req.target.starts_with('/') {
        req.target.as_str()
    } else {
        "/"
    };
    let location = match port {
        443 => format!("https://{name}{target}"),
        _ => format!("https://{name}:{port}{target}"),
    };
    let status = if matches!(req.method.as_str(), "GET" | "HEAD") {
        301
    } else {
        308
    };
    let text = format!("This site is served over HTTPS: {location}\n");
    Response::text(status, text).with_header("Location", location)
}

/// HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 only when asked `keep-alive`.
fn wants_keep_alive(req: &Request) -> bool {
    match req.version {
        Version::Http11 => !req.headers.has_token("Connection", "close"),
        Version::Http10 => req.headers.has_token("Connection", "keep-alive"),
    }
}

/// Files first, then the App (nginx's `try_files $uri $uri/ @app`): a path that names a file
/// under the static root, or a folder with an `index.html`, is the server's whatever its
/// extension or method; every other request goes to the App. The site's pages (`/`,
/// `*.html`) are simply paths with no file behind them.
fn dispatch(req: &Request, shared: &Shared, app: &dyn App) -> Response {
    if req.target == "*" {
        return Response::new(204).with_header("Allow", "GET, HEAD, POST, OPTIONS");
    }
    let files = &shared.static_files;
    match files.lookup(req.raw_path()) {
        Cached::Missing => call_catching_panics(req, || app.call(req)),
        found => {
            let resp = files.serve(req, found);
            if resp.status >= 400 {
                with_apps_error_page(app, req, resp)
            } else {
                resp
            }
        }
    }
}

/// A static file's error answer with the App's page for its status: the server's status and
/// headers (`Allow`, `Content-Range`), the App's body and `Content-Type`.
fn with_apps_error_page(app: &dyn App, req: &Request, plain: Response) -> Response {
    let mut page = call_catching_panics(req, || app.error_page(req, plain.status));
    page.status = plain.status;
    // The server's headers win: its `Allow` is what the file takes, whatever the page says.
    let servers = |name: &str| !name.eq_ignore_ascii_case("Content-Type");
    for (name, _) in plain.headers.iter().filter(|(n, _)| servers(n)) {
        page.headers.remove(name);
    }
    for (name, value) in plain.headers.iter().filter(|(n, _)| servers(n)) {
        page.headers.append(name, value);
    }
    page
}

/// Calls into the App; a panic becomes a 500 for this request alone.
fn call_catching_panics(req: &Request, call: impl FnOnce() -> Response) -> Response {
    match panic::catch_unwind(AssertUnwindSafe(call)) {
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

/// Answers a request the server refuses on its own; the caller then closes.
fn reject(
    access_log: &AccessLogger,
    sender: &mut Sender<'_>,
    peer: SocketAddr,
    head: Option<&Head>,
    status: u16,
    why: &str,
    out: &mut Vec<u8>,
) {
    log::info!("{peer}: {status} {}: {why}", reason(status));
    let started = Instant::now();
    let resp = Response::error_page(status);
    write_head(out, &resp, Some("close"));
    let head_len = out.len() as u64;
    out.extend_from_slice(resp.body.as_bytes().unwrap_or_default());
    sender.begin();
    if let Err(e) = sender.write_all(out) {
        log::debug!("{peer}: {e}");
    }
    access_log.log(&LogLine {
        client: peer.ip(),
        request: head.map(|h| (h.method.as_str(), h.target.as_str(), h.version)),
        headers: head.map(|h| &h.headers),
        status,
        bytes: sender.sent().saturating_sub(head_len),
        started,
        timing: None,
    });
}

/// Closes so that the client can read the last response: stop sending, then read and drop
/// what it is still sending for at most `limit` in all, since closing with unread data would
/// reset the connection and could destroy the response in flight (nginx's "lingering close").
fn linger_close(transport: &Transport<'_>, activity: &Activity, limit: Duration) {
    activity.enter(Phase::Linger);
    transport.close_write();
    // What still comes is dropped unread, TLS records included.
    let stream = transport.tcp();
    let deadline = Instant::now() + limit;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, target: &str, version: Version, headers: &[(&str, &str)]) -> Request {
        let mut req = Request::fake(method, target);
        req.version = version;
        for (name, value) in headers {
            req.headers.append(*name, *value);
        }
        req
    }

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
            let req = request("GET", "/", *version, headers);
            assert_eq!(wants_keep_alive(&req), *keep, "{version} {headers:?}");
        }
    }

    #[test]
    fn plain_http_is_sent_to_the_same_host_and_target_over_https() {
        let table = [
            (
                "GET",
                "/a?b=1",
                "example.com:8080",
                8443,
                301,
                "https://example.com:8443/a?b=1",
            ),
            ("HEAD", "/", "example.com", 443, 301, "https://example.com/"),
            (
                "POST",
                "/add/1.html",
                "[::1]:80",
                443,
                308,
                "https://[::1]/add/1.html",
            ),
            ("OPTIONS", "*", "h", 8443, 308, "https://h:8443/"),
        ];
        for (method, target, host, port, status, location) in table {
            let req = request(method, target, Version::Http11, &[("Host", host)]);
            let resp = to_https(&req, port);
            assert_eq!(resp.status, status, "{method} {target}");
            assert_eq!(
                resp.headers.get("Location"),
                Some(location),
                "{method} {target}"
            );
        }
        // HTTP/1.0 without a Host names no place to go.
        let req = request("GET", "/", Version::Http10, &[]);
        assert_eq!(to_https(&req, 443).status, 400);
    }

    #[test]
    fn a_panic_in_the_app_is_a_500_for_that_request_alone() {
        let req = Request::fake("GET", "/boom.html");
        let resp = call_catching_panics(&req, || panic!("the handler fell over"));
        assert_eq!(resp.status, 500);
        let body = String::from_utf8_lossy(resp.body.as_bytes().unwrap()).into_owned();
        assert!(
            !body.contains("fell over"),
            "the cause stays in the log: {body}"
        );
        let resp = call_catching_panics(&req, || Response::text(200, "fine"));
        assert_eq!(resp.status, 200);
    }

    #[test]
    fn a_static_error_keeps_the_servers_status_and_headers_and_takes_the_apps_page() {
        struct Styled;
        impl App for Styled {
            fn call(&self, _: &Request) -> Response {
                Response::text(200, "unused")
            }
            fn error_page(&self, _: &Request, status: u16) -> Response {
                Response::html(200, format!("<p>our {status}</p>"))
                    .with_header("Allow", "from the app")
            }
        }
        let req = Request::fake("DELETE", "/hello.txt");
        let plain = Response::error_page(405)
            .with_header("Allow", "GET, HEAD, OPTIONS")
            .with_header("X-Server", "kept");
        let page = with_apps_error_page(&Styled, &req, plain);
        assert_eq!(page.status, 405);
        assert_eq!(page.body.as_bytes(), Some(&b"<p>our 405</p>"[..]));
        assert_eq!(
            page.headers.get("Content-Type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(page.headers.get("X-Server"), Some("kept"));
        // The server's header of that name wins, once.
        assert_eq!(
            page.headers.get_all("Allow").collect::<Vec<_>>(),
            ["GET, HEAD, OPTIONS"]
        );
    }
}
