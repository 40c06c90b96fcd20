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

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[cfg(feature = "tls")]
use super::tls_stream::TlsStream;

/// One connection's bytes.
pub(crate) enum Transport<'a> {
    /// HTTP: the socket itself.
    Plain(&'a TcpStream),
    /// HTTPS: rustls between the socket and the server (boxed: its state is a few hundred
    /// bytes, and connection threads have small stacks).
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream<'a>>),
}

impl<'a> Transport<'a> {
    /// The socket under the connection.
    pub fn tcp(&self) -> &'a TcpStream {
        match self {
            Transport::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.tcp,
        }
    }

    /// Whether the bytes go through TLS (then `sendfile` cannot be used).
    pub fn is_tls(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            #[cfg(feature = "tls")]
            Transport::Tls(_) => true,
        }
    }

    /// Sets how long one `read` may wait in all.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Transport::Plain(tcp) => tcp.set_read_timeout(timeout),
            #[cfg(feature = "tls")]
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
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.read(buf),
        }
    }

    /// Writes some of `buf`. Over TLS the bytes are taken once encrypted into the connection's
    /// buffer; [`Transport::send_pending`] then puts them on the wire.
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(mut tcp) => tcp.write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.write(&[IoSlice::new(buf)]),
        }
    }

    /// Writes some of `bufs`, as [`Transport::write`].
    pub fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(mut tcp) => tcp.write_vectored(bufs),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.write(bufs),
        }
    }

    /// Sends some of what TLS holds encrypted: `Ok(None)` when nothing is left to send,
    /// else how many bytes went on the wire. Plain HTTP holds nothing.
    pub fn send_pending(&self) -> io::Result<Option<usize>> {
        match self {
            Transport::Plain(_) => Ok(None),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.send_pending(),
        }
    }

    /// Ends the sending side: over TLS a `close_notify` alert first (as far as the socket
    /// takes it at once), then the TCP FIN.
    pub fn close_write(&self) {
        #[cfg(feature = "tls")]
        if let Transport::Tls(tls) = self {
            tls.close_notify();
        }
        let _ = self.tcp().shutdown(std::net::Shutdown::Write);
    }
}
