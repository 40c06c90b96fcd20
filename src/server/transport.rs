//! The bytes of one connection, plain or through TLS. The request reader and the sender read
//! and write a [`Transport`] instead of the socket, so everything above them (parsing, the
//! deadlines, the framing of responses) is the same for HTTP and HTTPS.
//!
//! Both variants keep the socket's contract the deadlines rely on: one `read` waits at most the
//! read timeout in all, and one `write` blocks at most the socket's write timeout before it
//! returns `WouldBlock`/`TimedOut`. Over TLS, one `read` may take several TLS records (or a
//! record split across many TCP segments) to produce a byte; the read timeout then bounds
//! the whole call, never each record, so a client trickling a record byte by byte gets no
//! more time than one sending its request in clear.

use std::cell::{Cell, RefCell};
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rustls::ServerConnection;

/// The first byte of a TLS handshake record; an HTTP request starts with a letter.
const TLS_HANDSHAKE: u8 = 0x16;

/// One connection's bytes.
pub(crate) enum Transport<'a> {
    /// HTTP: the socket itself.
    Plain(&'a TcpStream),
    /// HTTPS: rustls between the socket and the server (boxed: its state is a few hundred
    /// bytes, and connection threads have small stacks).
    Tls(Box<TlsStream<'a>>),
}

/// A TLS connection over a socket. The request reader and the sender both use it, one after
/// the other on the connection's own thread, hence the `RefCell`.
pub(crate) struct TlsStream<'a> {
    tcp: &'a TcpStream,
    conn: RefCell<ServerConnection>,
    /// What one `read` may take in all, as the caller set it.
    read_timeout: Cell<Option<Duration>>,
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

impl<'a> Transport<'a> {
    /// The socket under the connection.
    pub fn tcp(&self) -> &'a TcpStream {
        match self {
            Transport::Plain(tcp) => tcp,
            Transport::Tls(tls) => tls.tcp,
        }
    }

    /// Whether the bytes go through TLS (then `sendfile` cannot be used).
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// Sets how long one `read` may wait in all.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Transport::Plain(tcp) => tcp.set_read_timeout(timeout),
            Transport::Tls(tls) => {
                tls.read_timeout.set(timeout);
                Ok(())
            }
        }
    }

    /// Reads request bytes: `Ok(0)` when the client has closed.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(mut tcp) => tcp.read(buf),
            Transport::Tls(tls) => tls.read(buf),
        }
    }

    /// Writes some of `buf`. Over TLS the bytes are taken once encrypted into the connection's
    /// buffer; [`Transport::send_pending`] then puts them on the wire.
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(mut tcp) => tcp.write(buf),
            Transport::Tls(tls) => tls.write(&[IoSlice::new(buf)]),
        }
    }

    /// Writes some of `bufs`, as [`Transport::write`].
    pub fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(mut tcp) => tcp.write_vectored(bufs),
            Transport::Tls(tls) => tls.write(bufs),
        }
    }

    /// Sends some of what TLS holds encrypted: `Ok(None)` when nothing is left to send,
    /// else how many bytes went on the wire. Plain HTTP holds nothing.
    pub fn send_pending(&self) -> io::Result<Option<usize>> {
        match self {
            Transport::Plain(_) => Ok(None),
            Transport::Tls(tls) => tls.send_pending(),
        }
    }

    /// Ends the sending side: over TLS a `close_notify` alert first (as far as the socket
    /// takes it at once), then the TCP FIN.
    pub fn close_write(&self) {
        if let Transport::Tls(tls) = self {
            tls.close_notify();
        }
        let _ = self.tcp().shutdown(std::net::Shutdown::Write);
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

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
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
    fn write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
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

    fn send_pending(&self) -> io::Result<Option<usize>> {
        let mut conn = self.conn.borrow_mut();
        if !conn.wants_write() {
            return Ok(None);
        }
        conn.write_tls(&mut self.wire()).map(Some)
    }

    fn close_notify(&self) {
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
