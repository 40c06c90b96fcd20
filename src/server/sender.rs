//! Writing to a client within the send deadlines, counting what went out.
//!
//! A blocking write's socket timeout restarts with every partial write, so on its own it bounds
//! nothing: a client reading one byte a minute would hold the thread forever. Every write here
//! therefore runs in short steps (the socket timeout is `STEP` at most) and checks two limits
//! between steps: no progress at all for `send_timeout`, and, after that grace, less than
//! `send_min_rate` bytes per second over the whole response. Either ends the response with
//! `TimedOut`, and the connection is closed.
//!
//! Over TLS a write only encrypts into rustls's buffer; every write method here returns once
//! that buffer is on the wire too (`flush`), under the same limits, so that a response is
//! never left half in memory while the connection waits for the next request.

use std::io::{self, IoSlice};
use std::time::{Duration, Instant};

use super::activity::{Activity, Phase};
use super::transport::Transport;

/// The longest one write blocks before the limits are checked again. Well under `SEND_STALL`,
/// so that a client reading slowly shows progress before it could count as stalled.
const STEP: Duration = Duration::from_millis(250);

/// The write side of one connection.
pub(crate) struct Sender<'a> {
    transport: &'a Transport<'a>,
    activity: &'a Activity,
    /// No progress for this long ends the response.
    timeout: Duration,
    /// Bytes per second a response must average once `timeout` has passed; 0 for no minimum.
    min_rate: u64,
    /// When the current response began.
    started: Instant,
    /// Bytes of the current response sent so far.
    sent: u64,
    last_progress: Instant,
}

impl<'a> Sender<'a> {
    /// Sets the socket's write timeout to one step; fails only if the socket is unusable.
    pub fn new(
        transport: &'a Transport<'a>,
        activity: &'a Activity,
        timeout: Duration,
        min_rate: u64,
    ) -> io::Result<Sender<'a>> {
        transport.tcp().set_write_timeout(Some(timeout.min(STEP)))?;
        let now = Instant::now();
        Ok(Sender {
            transport,
            activity,
            timeout,
            min_rate,
            started: now,
            sent: 0,
            last_progress: now,
        })
    }

    /// Starts a new response: the limits count from now.
    pub fn begin(&mut self) {
        self.activity.enter(Phase::Send);
        self.started = Instant::now();
        self.last_progress = self.started;
        self.sent = 0;
    }

    /// Runs `produce` (an app making the next chunk of a streamed body) with the send clocks
    /// stopped and the connection marked as worked for, so that a slow producer is never taken
    /// for a slow client, by the deadlines or by the reclaiming at the connection cap.
    pub fn producing<T>(&mut self, produce: impl FnOnce() -> T) -> T {
        self.activity.enter(Phase::Working);
        let began = Instant::now();
        let out = produce();
        let spent = began.elapsed();
        self.started += spent;
        self.last_progress += spent;
        self.activity.enter(Phase::Send);
        out
    }

    /// Bytes of the current response sent so far, head included.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether files can go straight from the page cache to the socket (`sendfile`): not
    /// through TLS, which must encrypt them.
    #[cfg(target_os = "linux")]
    pub fn can_sendfile(&self) -> bool {
        !self.transport.is_tls()
    }

    /// Writes all of `buf`.
    pub fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write_all_unflushed(buf)?;
        self.flush()
    }

    fn write_all_unflushed(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.step(self.transport.write(buf))?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Puts on the wire what TLS holds encrypted (nothing to do for plain HTTP).
    pub fn flush(&mut self) -> io::Result<()> {
        loop {
            match self.transport.send_pending() {
                Ok(None) => return Ok(()),
                // Progress, but not of the response's own bytes: those were counted when
                // TLS took them.
                Ok(Some(n)) if n > 0 => {
                    self.last_progress = Instant::now();
                    self.activity.progress(n);
                }
                Ok(Some(_)) => return Err(io::ErrorKind::WriteZero.into()),
                Err(e) => {
                    self.step(Err(e))?;
                }
            }
        }
    }

    /// Writes all of `bufs` with vectored writes.
    pub fn write_all_vectored(&mut self, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        while !bufs.is_empty() {
            let n = self.step(self.transport.write_vectored(bufs))?;
            IoSlice::advance_slices(&mut bufs, n);
        }
        self.flush()
    }

    /// Writes all of `buf` telling the kernel more follows at once (`MSG_MORE`), so that a
    /// head and the file after it share packets; over TLS, left in the TLS buffer for the
    /// next write to take along.
    #[cfg(target_os = "linux")]
    pub fn write_all_more(&mut self, mut buf: &[u8]) -> io::Result<()> {
        use rustix::net::SendFlags;
        if self.transport.is_tls() {
            return self.write_all_unflushed(buf);
        }
        while !buf.is_empty() {
            let sent =
                rustix::net::send(self.transport.tcp(), buf, SendFlags::MORE).map_err(Into::into);
            let n = self.step(sent)?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Sends up to `count` bytes of `file` from `*offset` with `sendfile(2)`, advancing
    /// `offset`; returns how many went out (0 at the end of the file). Plain HTTP only (see
    /// [`Sender::can_sendfile`]).
    #[cfg(target_os = "linux")]
    pub fn sendfile(
        &mut self,
        file: &std::fs::File,
        offset: &mut u64,
        count: usize,
    ) -> io::Result<usize> {
        loop {
            let sent = rustix::fs::sendfile(self.transport.tcp(), file, Some(offset), count);
            match sent {
                Ok(0) => return Ok(0),
                other => {
                    let n = self.step(other.map_err(Into::into))?;
                    if n > 0 {
                        return Ok(n);
                    }
                }
            }
        }
    }

    /// Accounts for one write attempt: `Ok(n)` bytes went out (0 when it should be tried
    /// again), or the response has failed or broken a limit.
    fn step(&mut self, attempt: io::Result<usize>) -> io::Result<usize> {
        match attempt {
            Ok(0) => Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                let now = Instant::now();
                self.sent += n as u64;
                self.last_progress = now;
                self.activity.progress(n);
                self.check_rate(now)?;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if self.last_progress.elapsed() >= self.timeout {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("client read nothing for {:?}", self.timeout),
                    ));
                }
                self.check_rate(Instant::now())?;
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// Fails once the response has taken longer than the grace plus what its bytes allow at
    /// the minimum rate.
    fn check_rate(&self, now: Instant) -> io::Result<()> {
        if self.min_rate == 0 {
            return Ok(());
        }
        let allowed =
            self.timeout + Duration::from_secs_f64(self.sent as f64 / self.min_rate as f64);
        let taken = now.duration_since(self.started);
        if taken > allowed {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "client read {} bytes in {:?}, under {} bytes/s",
                    self.sent, taken, self.min_rate
                ),
            ));
        }
        Ok(())
    }
}
