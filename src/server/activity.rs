//! What each live connection is doing, published for the other threads: the accept path reads
//! it to decide which connection to reclaim when the server is full, and shutdown reads it to
//! close the idle ones at once.
//!
//! A connection's thread writes its own record with relaxed atomic stores (a few per request);
//! other threads only read it, and a slightly stale read costs nothing but a less ideal choice.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A connection that began its head or body this recently is not slow yet, whatever it has
/// sent: a new client's request is usually on its way. (A real client sends its request in the
/// same flight as the last packet of its handshake; this is far longer than that.)
pub(crate) const RECEIVE_GRACE: Duration = Duration::from_millis(250);
/// A response whose client has read nothing for this long is stalled, and may be closed to make
/// room. (Writes block now and then under ordinary flow control; this is far longer.)
pub(crate) const SEND_STALL: Duration = Duration::from_secs(1);

/// Where a connection is in its request-response cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Waiting for, or receiving, a request head.
    Head = 0,
    /// Between keep-alive requests, nothing buffered.
    Idle = 1,
    /// Receiving a request body.
    Body = 2,
    /// The server is working on the request (files, the App): never interrupted.
    Working = 3,
    /// Sending a response.
    Send = 4,
    /// Answered, and draining what the client still sends before closing.
    Linger = 5,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Head,
            1 => Phase::Idle,
            2 => Phase::Body,
            4 => Phase::Send,
            5 => Phase::Linger,
            _ => Phase::Working,
        }
    }
}

/// Milliseconds since the first call: a clock that fits in an atomic.
pub(crate) fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// One connection's progress, written by its thread, read by others.
#[derive(Debug)]
pub(crate) struct Activity {
    phase: AtomicU8,
    /// When the phase began (`now_ms`).
    since: AtomicU64,
    /// Bytes received or sent in this phase.
    bytes: AtomicU64,
    /// When bytes last moved (`now_ms`).
    last_progress: AtomicU64,
}

/// Why a connection was chosen to make room, for the log; ordered from first to last choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reclaim {
    /// Idle between requests, or closing: nothing is lost.
    Idle,
    /// Sending its head or body slower than it should, or receiving nothing of its response.
    Slow,
}

impl Activity {
    /// A new connection, in its head phase from now.
    pub fn new() -> Activity {
        let now = now_ms();
        Activity {
            phase: AtomicU8::new(Phase::Head as u8),
            since: AtomicU64::new(now),
            bytes: AtomicU64::new(0),
            last_progress: AtomicU64::new(now),
        }
    }

    /// Starts `phase` now, with no bytes moved yet.
    pub fn enter(&self, phase: Phase) {
        let now = now_ms();
        self.since.store(now, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        self.last_progress.store(now, Ordering::Relaxed);
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// Records `n` bytes moved.
    pub fn progress(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.last_progress.store(now_ms(), Ordering::Relaxed);
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    /// Whether the connection waits for a request that has not begun to arrive, so that
    /// closing it loses nothing.
    pub fn is_waiting(&self) -> bool {
        match self.phase() {
            Phase::Idle => true,
            Phase::Head => self.bytes.load(Ordering::Relaxed) == 0,
            _ => false,
        }
    }

    /// Whether this connection may be closed to make room for a new one, and how willingly:
    /// `(why, since)`, where the lowest pair is the best victim. Idle and closing connections
    /// come first, the longest idle first. Then slow ones, the longest slow first: receiving
    /// its head or body at under `min_rate` bytes per second once past `RECEIVE_GRACE`, or
    /// stalled in a response for `SEND_STALL`. A connection the server is working for, or that
    /// moves bytes at a fair pace, is never chosen.
    pub fn reclaim_rank(&self, now: u64, min_rate: u64) -> Option<(Reclaim, u64)> {
        let since = self.since.load(Ordering::Relaxed);
        match self.phase() {
            Phase::Idle | Phase::Linger => Some((Reclaim::Idle, since)),
            Phase::Working => None,
            Phase::Head | Phase::Body => {
                let age = now.saturating_sub(since);
                if age < RECEIVE_GRACE.as_millis() as u64 {
                    return None;
                }
                let rate = self.bytes.load(Ordering::Relaxed) * 1000 / age;
                (rate < min_rate).then_some((Reclaim::Slow, since))
            }
            Phase::Send => {
                let last = self.last_progress.load(Ordering::Relaxed);
                let stalled = now.saturating_sub(last) >= SEND_STALL.as_millis() as u64;
                stalled.then_some((Reclaim::Slow, last))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_phase(phase: Phase, age_ms: u64, bytes: u64, stalled_ms: u64) -> (Activity, u64) {
        let a = Activity::new();
        a.enter(phase);
        let now = now_ms() + 1_000_000;
        a.since.store(now - age_ms, Ordering::Relaxed);
        a.bytes.store(bytes, Ordering::Relaxed);
        a.last_progress.store(now - stalled_ms, Ordering::Relaxed);
        (a, now)
    }

    #[test]
    fn victims_are_chosen_idle_first_then_longest_slow_and_never_busy_or_fair() {
        use Phase::*;
        // (phase, age ms, bytes, ms since progress) -> rank with a 500 B/s minimum.
        type Case = ((Phase, u64, u64, u64), Option<Reclaim>);
        let cases: &[Case] = &[
            ((Idle, 10, 0, 10), Some(Reclaim::Idle)),
            ((Linger, 10, 0, 10), Some(Reclaim::Idle)),
            ((Working, 60_000, 0, 60_000), None),
            ((Head, 5, 0, 5), None),
            ((Head, 300, 0, 300), Some(Reclaim::Slow)),
            ((Head, 300, 400, 300), None),
            ((Head, 5_000, 20, 1_000), Some(Reclaim::Slow)),
            ((Body, 5_000, 100_000, 0), None),
            ((Body, 10_000, 3, 2_000), Some(Reclaim::Slow)),
            ((Send, 10_000, 4 << 20, 100), None),
            ((Send, 10_000, 4 << 20, 3_000), Some(Reclaim::Slow)),
        ];
        for &((phase, age, bytes, stalled), want) in cases {
            let (a, now) = in_phase(phase, age, bytes, stalled);
            assert_eq!(
                a.reclaim_rank(now, 500).map(|r| r.0),
                want,
                "{phase:?} age {age} bytes {bytes} stalled {stalled}"
            );
        }
        let (older, now) = in_phase(Head, 5_000, 5, 1_000);
        let (younger, _) = in_phase(Head, 400, 0, 400);
        let (stalled, _) = in_phase(Send, 9_000, 1 << 20, 4_000);
        let (idle, _) = in_phase(Idle, 1, 0, 1);
        let rank = |a: &Activity| a.reclaim_rank(now, 500).unwrap();
        assert!(rank(&idle) < rank(&older));
        assert!(rank(&older) < rank(&stalled) && rank(&stalled) < rank(&younger));
    }

    #[test]
    fn only_connections_without_a_request_under_way_are_waiting() {
        let a = Activity::new();
        assert!(a.is_waiting());
        a.progress(3);
        assert!(!a.is_waiting());
        a.enter(Phase::Idle);
        assert!(a.is_waiting());
        a.enter(Phase::Working);
        assert!(!a.is_waiting());
    }
}
