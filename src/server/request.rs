//! Reading request heads off one connection with `httparse`, however they are split across
//! reads or packed several to a read, each within its size limit and its deadline.
//!
//! Deadlines are totals, not per-read timeouts: a client that trickles one byte before each
//! timeout would otherwise hold the connection forever. A new connection must deliver its
//! whole first head within `header_timeout` of being accepted; a kept-alive one may wait
//! `idle_timeout` for the next request to begin, and then has `header_timeout` for the head.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::activity::{Activity, Phase};
use super::head::{parse_head, Head, ReadError};
use super::settings::ServerConfig;
use super::transport::Transport;

/// A connection's read buffer starts this small (most request heads are a few hundred bytes)
/// and doubles while a larger head or body needs it.
const INITIAL_BUFFER: usize = 4 * 1024;
/// An empty buffer larger than this is given back.
const SHRINK_ABOVE: usize = 64 * 1024;

/// Reads requests off one connection, keeping what arrived beyond the current request (a
/// pipelined next request) for the next call.
pub(crate) struct RequestReader<'a> {
    transport: &'a Transport<'a>,
    config: &'a ServerConfig,
    activity: &'a Activity,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The read timeout currently set, to skip redundant `setsockopt` calls.
    timeout: Option<Duration>,
    /// When the connection was accepted, until its first head has been read.
    accepted: Option<Instant>,
}

impl<'a> RequestReader<'a> {
    /// A reader for a connection accepted at `accepted`.
    pub fn new(
        transport: &'a Transport<'a>,
        config: &'a ServerConfig,
        activity: &'a Activity,
        accepted: Instant,
    ) -> Self {
        RequestReader {
            transport,
            config,
            activity,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            timeout: None,
            accepted: Some(accepted),
        }
    }

    /// The limits and deadlines it reads within.
    pub(super) fn config(&self) -> &'a ServerConfig {
        self.config
    }

    /// The connection's progress, which reading moves on.
    pub(super) fn activity(&self) -> &'a Activity {
        self.activity
    }

    /// Whether bytes of a next request are already buffered.
    pub fn has_buffered(&self) -> bool {
        self.start < self.end
    }

    /// The unread bytes.
    pub(super) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` unread bytes as used.
    pub(super) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            // A large body grew the buffer; an idle connection should not keep it.
            if self.buf.len() > SHRINK_ABOVE {
                self.buf = vec![0; INITIAL_BUFFER];
            }
        }
    }

    /// Reads the next request head and says when it began to arrive. A connection that sends
    /// nothing within its time, or closes, ends quietly; a shutdown in progress ends a
    /// connection that is waiting for a request.
    pub fn read_head(&mut self, shutting_down: &AtomicBool) -> Result<(Head, Instant), ReadError> {
        let cfg = self.config;
        if !self.has_buffered() {
            // One read waits for the request to begin: the header timeout on a new
            // connection, the idle timeout on a kept-alive one.
            let wait = match self.accepted {
                Some(_) => cfg.header_timeout,
                None => {
                    self.activity.enter(Phase::Idle);
                    cfg.idle_timeout
                }
            };
            if shutting_down.load(Ordering::SeqCst) {
                return Err(ReadError::Closed);
            }
            match self.fill(wait) {
                Ok(0) | Err(_) => return Err(ReadError::Closed),
                Ok(_) => {}
            }
        }
        let started = Instant::now();
        let deadline = match self.accepted.take() {
            Some(accepted) => accepted + cfg.header_timeout,
            None => {
                self.activity.enter(Phase::Head);
                self.activity.progress(self.data().len());
                started + cfg.header_timeout
            }
        };
        loop {
            match parse_head(self.data(), cfg.max_headers)? {
                Some((head, n)) => {
                    if n > cfg.max_head_bytes {
                        return Err(too_large(&self.data()[..n], cfg.max_head_bytes));
                    }
                    self.consume(n);
                    return Ok((head, started));
                }
                None if self.data().len() >= cfg.max_head_bytes => {
                    return Err(too_large(self.data(), cfg.max_head_bytes));
                }
                None => {}
            }
            self.fill_or_408(deadline, "request head not received in time")?;
        }
    }

    /// One `read` into the buffer before `deadline`. Running out of time is a 408 (saying
    /// `why` in the log); a closed or broken connection ends quietly.
    pub(super) fn fill_or_408(
        &mut self,
        deadline: Instant,
        why: &'static str,
    ) -> Result<usize, ReadError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Reject(408, why));
        }
        match self.fill(left) {
            Ok(0) => Err(ReadError::Closed),
            Ok(n) => Ok(n),
            Err(e) if is_timeout(&e) => Err(ReadError::Reject(408, why)),
            Err(_) => Err(ReadError::Closed),
        }
    }

    /// One `read` into the buffer, waiting at most `timeout`.
    fn fill(&mut self, timeout: Duration) -> io::Result<usize> {
        // A zero timeout means "block forever" to the socket API; never ask for that.
        let timeout = timeout.max(Duration::from_millis(1));
        if self.timeout != Some(timeout) {
            self.transport.set_read_timeout(Some(timeout))?;
            self.timeout = Some(timeout);
        }
        if self.end == self.buf.len() {
            // Full: move the unread bytes to the front, and grow if that frees nothing.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        loop {
            match self.transport.read(&mut self.buf[self.end..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(n) => {
                    self.end += n;
                    self.activity.progress(n);
                    return Ok(n);
                }
            }
        }
    }
}

/// 414 when the request line alone is over the limit, else 431.
fn too_large(head: &[u8], limit: usize) -> ReadError {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    if line_end >= limit {
        ReadError::Reject(414, "request line longer than the head limit")
    } else {
        ReadError::Reject(431, "request head larger than the limit")
    }
}

/// Whether a read failed because its time ran out.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_long_request_line_is_414_else_431() {
        let long_line = [b"GET /".as_slice(), &[b'a'; 100]].concat();
        assert_eq!(
            too_large(&long_line, 50),
            ReadError::Reject(414, "request line longer than the head limit")
        );
        let long_headers = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 100]].concat();
        assert!(matches!(
            too_large(&long_headers, 50),
            ReadError::Reject(431, _)
        ));
    }
}
