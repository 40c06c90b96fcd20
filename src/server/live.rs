//! The live connections: admission under the connection caps, making room by closing the
//! connections that use a place without using it well, the shutdown flag, and what shutdown
//! closes at once. Everything about who may hold a connection is here; the acceptor calls
//! [`Live::admit`] and holds the [`Admitted`] it gets until the connection ends.
//!
//! At a cap the server reclaims before it refuses, as nginx drains its reusable connections:
//! first a connection idle between requests (the longest idle), then the one slowest to send
//! its head or body, or stalled reading its response. A connection the server is working for,
//! or one moving bytes at a fair pace, is never closed for another; only when nothing can be
//! reclaimed does the new client get a 503.
//!
//! A connection only counts as slow after a moment (`activity.rs`), so a client that finds
//! nothing to reclaim waits up to `ADMIT_WAIT` for room, in a first-come first-served queue,
//! before it is refused: clients that reconnect the moment they are cut would otherwise take
//! every place the moment it could be reclaimed, and an ordinary client would rarely get one.

use crate::sync::Unpoisoned;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::activity::{now_ms, Activity, Reclaim};
use super::metrics::ConnectionCounts;

/// How long a new connection waits for room at a cap before it is answered 503.
const ADMIT_WAIT: Duration = Duration::from_secs(1);

/// The live set behind its lock, with the shutdown flag: what every accepting and serving
/// thread consults.
#[derive(Default)]
pub(crate) struct Live {
    set: Mutex<LiveSet>,
    /// Signalled when shutdown begins, and during shutdown when a connection ends.
    changed: Condvar,
    shutting_down: AtomicBool,
    /// Ids for the live set, shared by all listeners.
    next_id: AtomicU64,
    /// Connections closed to make room, and new ones refused, since start-up.
    reclaimed: AtomicU64,
    refused: AtomicU64,
}

/// A connection's place in the live set, given back when dropped, however its thread ends.
pub(crate) struct Admitted<'a> {
    live: &'a Live,
    id: u64,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut set = self.live.set();
        set.remove(self.id);
        set.wake_next();
        // Only the shutdown code waits for connections to end; waking it on every connection
        // otherwise would cost two context switches each.
        if self.live.is_shutting_down() {
            self.live.changed.notify_all();
        }
    }
}

impl Live {
    fn set(&self) -> MutexGuard<'_, LiveSet> {
        // A poisoned lock only means a thread panicked while holding it; the set is still sound.
        self.set.lock().unpoisoned()
    }

    /// Whether a shutdown has begun: no new connection, no new request on a kept-alive one.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// The flag itself, for the reader's wait for a next request.
    pub fn shutdown_flag(&self) -> &AtomicBool {
        &self.shutting_down
    }

    /// Begins a shutdown and wakes [`Live::wait_for_shutdown`].
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let _set = self.set();
        self.changed.notify_all();
    }

    /// Blocks until a shutdown begins.
    pub fn wait_for_shutdown(&self) {
        let mut set = self.set();
        while !self.is_shutting_down() {
            set = self.changed.wait(set).unpoisoned();
        }
    }

    /// Closes the connections waiting for a request at once, waits up to `grace` for the
    /// busy ones to finish theirs, then closes what is left.
    pub fn drain(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let mut set = self.set();
        set.close_waiting();
        while !set.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                log::warn!(
                    "grace period over; dropping {} connection(s) still busy",
                    set.len()
                );
                set.close_all();
                break;
            }
            set = self
                .changed
                .wait_timeout(set, deadline - now)
                .unpoisoned()
                .0;
        }
    }

    /// Admits a new connection under `caps`, reclaiming room where a cap is reached and, if
    /// there is none to reclaim, waiting up to `ADMIT_WAIT` in a first-come first-served
    /// queue for some (slow connections ripen, others end). `Err` names the cap that is full:
    /// the client should be refused.
    pub fn admit(&self, conn: LiveConnection, caps: Caps) -> Result<Admitted<'_>, &'static str> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let outcome = self.wait_for_room(id, &conn, caps).inspect_err(|_| {
            self.refused.fetch_add(1, Ordering::Relaxed);
        })?;
        self.reclaimed
            .fetch_add(outcome.len() as u64, Ordering::Relaxed);
        for (victim, why) in outcome {
            match why {
                Reclaim::Idle => log::debug!("{victim}: idle, closed to make room"),
                Reclaim::Slow => log::info!("{victim}: too slow, closed to make room"),
            }
        }
        Ok(Admitted { live: self, id })
    }

    /// The connections open and idle now, and the counts since start-up, for `/metrics`.
    pub fn counts(&self) -> ConnectionCounts {
        let set = self.set();
        ConnectionCounts {
            open: set.len(),
            idle: set
                .conns
                .values()
                .filter(|c| c.activity.is_waiting())
                .count(),
            reclaimed: self.reclaimed.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    fn wait_for_room(&self, id: u64, conn: &LiveConnection, caps: Caps) -> Reclaimed {
        let mut set = self.set();
        if set.queue.is_empty() {
            match set.admit(id, conn, caps) {
                Err(_) if set.may_wait(caps) => {}
                admitted_or_refused => return admitted_or_refused,
            }
        } else if !set.may_wait(caps) {
            return Err("connection cap (and the queue for room)");
        }
        let deadline = Instant::now() + ADMIT_WAIT;
        let me = Arc::new(Condvar::new());
        set.queue.push_back((id, me.clone()));
        let outcome = loop {
            let now = Instant::now();
            let give_up = now >= deadline || self.is_shutting_down();
            let wait = if set.is_next(id) {
                match set.admit(id, conn, caps) {
                    Err(cap) if give_up => break Err(cap),
                    Err(_) => {}
                    admitted => break admitted,
                }
                // Connections that end wake the first in line; slow ones ripen unannounced.
                (deadline - now).min(Duration::from_millis(20))
            } else if give_up {
                break Err("connection cap (waited in the queue for room)");
            } else {
                deadline - now
            };
            set = me.wait_timeout(set, wait).unpoisoned().0;
        };
        set.queue.retain(|(queued, _)| *queued != id);
        set.wake_next();
        outcome
    }
}

/// The connections closed to make room, or the cap that could not be met.
type Reclaimed = Result<Vec<(SocketAddr, Reclaim)>, &'static str>;

/// One live connection, as the other threads see it.
#[derive(Clone)]
pub(crate) struct LiveConnection {
    pub stream: Arc<TcpStream>,
    pub activity: Arc<Activity>,
    pub peer: SocketAddr,
}

/// The limits admission works within.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    /// Live connections at most.
    pub total: NonZeroUsize,
    /// Live connections from one address at most; `None` for no limit.
    pub per_ip: Option<NonZeroUsize>,
    /// Below this many bytes per second, a client sending its request is slow.
    pub min_rate: u64,
}

/// Every live connection by id, how many each address has (kept only with a per-address
/// limit), and the new connections waiting for room.
#[derive(Default)]
struct LiveSet {
    conns: HashMap<u64, LiveConnection>,
    per_ip: HashMap<IpAddr, usize>,
    /// New connections waiting for room, first come first served, each with the condition
    /// variable it sleeps on; at most as many as the cap.
    queue: VecDeque<(u64, Arc<Condvar>)>,
}

impl LiveSet {
    /// Admits `conn` under `caps`, reclaiming a place first where the caps are reached.
    fn admit(&mut self, id: u64, conn: &LiveConnection, caps: Caps) -> Reclaimed {
        let now = now_ms();
        let ip = conn.peer.ip();
        let min_rate = caps.min_rate.max(1);
        let mut reclaimed = Vec::new();
        let per_ip = caps.per_ip.map(NonZeroUsize::get);
        if per_ip.is_some_and(|cap| self.per_ip.get(&ip).copied().unwrap_or(0) >= cap) {
            match self.reclaim(now, min_rate, Some(ip)) {
                Some(r) => reclaimed.push(r),
                None => return Err("per-address connection limit"),
            }
        }
        if self.conns.len() >= caps.total.get() {
            match self.reclaim(now, min_rate, None) {
                Some(r) => reclaimed.push(r),
                None => return Err("connection cap"),
            }
        }
        if per_ip.is_some() {
            *self.per_ip.entry(ip).or_insert(0) += 1;
        }
        self.conns.insert(id, conn.clone());
        Ok(reclaimed)
    }

    /// Closes the best victim (from `ip` only, if given) and forgets it; its thread sees the
    /// closed socket and ends on its own.
    fn reclaim(
        &mut self,
        now: u64,
        min_rate: u64,
        ip: Option<IpAddr>,
    ) -> Option<(SocketAddr, Reclaim)> {
        let mut candidates: Vec<((Reclaim, u64), u64)> = self
            .conns
            .iter()
            .filter(|(_, c)| ip.is_none_or(|ip| c.peer.ip() == ip))
            .filter_map(|(id, c)| c.activity.reclaim_rank(now, min_rate).map(|r| (r, *id)))
            .collect();
        candidates.sort_unstable();
        let (rank, id) = candidates.into_iter().find(|&((why, _), id)| {
            // Bytes waiting unread mean the client has sent its part and the server has not
            // read it yet: that client is not the slow one.
            why == Reclaim::Idle
                || self.conns.get(&id).is_some_and(|c| {
                    rustix::io::ioctl_fionread(&*c.stream).is_ok_and(|unread| unread == 0)
                })
        })?;
        let conn = self.remove(id)?;
        let _ = conn.stream.shutdown(Shutdown::Both);
        Some((conn.peer, rank.0))
    }

    /// Whether another new connection may wait for room under `caps`.
    fn may_wait(&self, caps: Caps) -> bool {
        self.queue.len() < caps.total.get()
    }

    /// Whether `id` is first in the queue.
    fn is_next(&self, id: u64) -> bool {
        self.queue.front().is_some_and(|(first, _)| *first == id)
    }

    /// Wakes the first waiting connection, if any: room may have been made.
    fn wake_next(&self) {
        if let Some((_, cv)) = self.queue.front() {
            cv.notify_one();
        }
    }

    /// Forgets a connection; `None` if it was already reclaimed.
    fn remove(&mut self, id: u64) -> Option<LiveConnection> {
        let conn = self.conns.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&conn.peer.ip()) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&conn.peer.ip());
            }
        }
        Some(conn)
    }

    /// How many connections are live.
    fn len(&self) -> usize {
        self.conns.len()
    }

    /// Whether no connection is live.
    fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Stops reading on every connection that waits for a request, so that it ends now.
    fn close_waiting(&self) {
        for conn in self.conns.values() {
            if conn.activity.is_waiting() {
                let _ = conn.stream.shutdown(Shutdown::Read);
            }
        }
    }

    /// Closes every connection, busy or not.
    fn close_all(&self) {
        for conn in self.conns.values() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
    }
}
