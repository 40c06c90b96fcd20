//! TLS over one socket: the handshake within the connection's first deadline, and reads and
//! writes through rustls that keep the socket's contract (see `transport.rs`). Built with the
//! `tls` feature only.

use std::cell::{Cell, RefCell};
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rustls::ServerConnection;

/// The first byte of a TLS handshake record; an HTTP request starts with a letter.
const TLS_HANDSHAKE: u8 = 0x16;

/// A TLS connection over a socket. The request reader and the sender both use it, one after
/// the other on the connection's own thread, hence the `RefCell`.
pub(crate) struct TlsStream<'a> {
    pub(super) tcp: &'a TcpStream,
    conn: RefCell<ServerConnection>,
    /// What one `read` may take in all, as the caller set it.
    pub(super) read_timeout: Cell<Option<Duration>>,
    /// The read timeout set on the socket now, to skip redundant `setsockopt` calls.
    socket_timeout: Cell<Option<Duration>>,
}

/// Why a TLS handshake did not complete.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    /// The client spoke plain HTTP to the HTTPS port.
    PlainHttp,
    /// The client closed the connection.
    Closed,
    /// The handshake was not over within its time.
    TimedOut,
    /// The client's messages were not TLS, or asked for what the server does not offer (a
    /// protocol version, a cipher suite, an ALPN protocol); the client was sent an alert.
    Tls(rustls::Error),
    /// The socket failed.
    Io(io::Error),
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::PlainHttp => write!(f, "plain HTTP sent to the HTTPS port"),
            HandshakeError::Closed => write!(f, "closed by the client during the handshake"),
            HandshakeError::TimedOut => write!(f, "handshake not over in time"),
            HandshakeError::Tls(e) => write!(f, "{e}"),
            HandshakeError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl<'a> TlsStream<'a> {
    /// A TLS connection over `tcp`, not yet shaken hands.
    pub fn new(tcp: &'a TcpStream, conn: ServerConnection) -> TlsStream<'a> {
        TlsStream {
            tcp,
            conn: RefCell::new(conn),
            read_timeout: Cell::new(None),
            socket_timeout: Cell::new(None),
        }
    }

    /// The TLS version and ALPN protocol agreed, for the log.
    pub fn agreed(&self) -> String {
        let conn = self.conn.borrow();
        let version = conn
            .protocol_version()
            .map_or_else(|| "?".into(), |v| format!("{v:?}"));
        match conn.alpn_protocol() {
            Some(p) => format!("{version}, ALPN {}", String::from_utf8_lossy(p)),
            None => format!("{version}, no ALPN"),
        }
    }

    /// Completes the handshake before `deadline` (the header timeout from accept: a client
    /// gets no more time to handshake and send its first request than one without TLS).
    pub fn handshake(&self, deadline: Instant) -> Result<(), HandshakeError> {
        let timed = |e: io::Error| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => HandshakeError::TimedOut,
            _ => HandshakeError::Io(e),
        };
        let time = left(deadline).ok_or(HandshakeError::TimedOut)?;
        self.set_socket_timeout(time).map_err(HandshakeError::Io)?;
        // The server's flights are a few KiB: the socket buffer takes them at once.
        self.tcp
            .set_write_timeout(Some(time))
            .map_err(HandshakeError::Io)?;
        // A letter first is an HTTP request line: the client forgot the `s` of `https`.
        let mut first = [0u8; 1];
        match self.tcp.peek(&mut first).map_err(timed)? {
            0 => return Err(HandshakeError::Closed),
            _ if first[0] != TLS_HANDSHAKE && first[0].is_ascii_alphabetic() => {
                return Err(HandshakeError::PlainHttp)
            }
            _ => {}
        }
        let mut conn = self.conn.borrow_mut();
        while conn.is_handshaking() {
            if conn.wants_write() {
                conn.write_tls(&mut self.wire()).map_err(timed)?;
                continue;
            }
            let left = left(deadline).ok_or(HandshakeError::TimedOut)?;
            self.set_socket_timeout(left).map_err(HandshakeError::Io)?;
            if conn.read_tls(&mut self.wire()).map_err(timed)? == 0 {
                return Err(HandshakeError::Closed);
            }
            if let Err(e) = conn.process_new_packets() {
                // rustls has queued an alert that tells the client why.
                let _ = conn.write_tls(&mut self.wire());
                return Err(HandshakeError::Tls(e));
            }
        }
        // The server's last flight (TLS 1.3 session tickets) goes out before the request.
        while conn.wants_write() {
            conn.write_tls(&mut self.wire()).map_err(timed)?;
        }
        Ok(())
    }

    pub(super) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let started = Instant::now();
        let limit = self.read_timeout.get();
        let mut conn = self.conn.borrow_mut();
        let mut first = true;
        loop {
            match conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Nothing decrypted yet: read more of the TLS stream, within what is left of the
            // time (all of it the first time round, so the socket's setting is reused).
            let wait = match limit {
                Some(t) if !first => Some(
                    t.checked_sub(started.elapsed())
                        .filter(|d| !d.is_zero())
                        .ok_or(io::ErrorKind::TimedOut)?,
                ),
                other => other,
            };
            first = false;
            if let Some(wait) = wait {
                self.set_socket_timeout(wait)?;
            }
            if conn.read_tls(&mut self.wire())? == 0 {
                return Ok(0);
            }
            if let Err(e) = conn.process_new_packets() {
                let _ = conn.write_tls(&mut self.wire());
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            // A key update or an alert to answer.
            while conn.wants_write() {
                conn.write_tls(&mut self.wire())?;
            }
        }
    }

    /// Takes what of `bufs` fits in the connection's send buffer, sending what is already
    /// there first when it is full.
    pub(super) fn write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        let mut conn = self.conn.borrow_mut();
        loop {
            let n = conn.writer().write_vectored(bufs)?;
            if n > 0 {
                return Ok(n);
            }
            // Full: this write blocks one socket write timeout at most.
            if conn.write_tls(&mut self.wire())? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
    }

    pub(super) fn send_pending(&self) -> io::Result<Option<usize>> {
        let mut conn = self.conn.borrow_mut();
        if !conn.wants_write() {
            return Ok(None);
        }
        conn.write_tls(&mut self.wire()).map(Some)
    }

    pub(super) fn close_notify(&self) {
        let mut conn = self.conn.borrow_mut();
        conn.send_close_notify();
        while conn.wants_write() {
            if !matches!(conn.write_tls(&mut self.wire()), Ok(n) if n > 0) {
                break;
            }
        }
    }

    /// The socket, as `read_tls` and `write_tls` take it.
    fn wire(&self) -> &'a TcpStream {
        self.tcp
    }

    fn set_socket_timeout(&self, timeout: Duration) -> io::Result<()> {
        // A zero timeout means "block forever" to the socket API; never ask for that.
        let timeout = Some(timeout.max(Duration::from_millis(1)));
        if self.socket_timeout.get() != timeout {
            self.tcp.set_read_timeout(timeout)?;
            self.socket_timeout.set(timeout);
        }
        Ok(())
    }
}

/// Time left before `deadline`; `None` once it has passed.
fn left(deadline: Instant) -> Option<Duration> {
    Some(deadline.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero())
}
