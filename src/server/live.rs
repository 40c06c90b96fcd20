//! The live connections: admission under the connection caps, making room by closing the
//! connections that use a place without using it well, and what shutdown closes at once.
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

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar};
use std::time::Duration;

use super::activity::{now_ms, Activity, Reclaim};

/// How long a new connection waits for room at a cap before it is answered 503.
pub(crate) const ADMIT_WAIT: Duration = Duration::from_secs(1);

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
    pub total: usize,
    /// Live connections from one address at most; 0 for no limit.
    pub per_ip: usize,
    /// Below this many bytes per second, a client sending its request is slow.
    pub min_rate: u64,
}

/// What admitting a connection took.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Admitted, after closing these connections (if any) to make room.
    In(Vec<(SocketAddr, Reclaim)>),
    /// No room could be made under this cap: answer 503.
    Full(&'static str),
}

/// Every live connection by id, how many each address has (kept only with a per-address
/// limit), and the new connections waiting for room.
#[derive(Default)]
pub(crate) struct LiveSet {
    conns: HashMap<u64, LiveConnection>,
    per_ip: HashMap<IpAddr, usize>,
    /// New connections waiting for room, first come first served, each with the condition
    /// variable it sleeps on; at most as many as the cap.
    pub queue: VecDeque<(u64, Arc<Condvar>)>,
}

impl LiveSet {
    /// Admits `conn` under `caps`, reclaiming a place first where the caps are reached.
    pub fn admit(&mut self, id: u64, conn: &LiveConnection, caps: Caps) -> Admission {
        let now = now_ms();
        let ip = conn.peer.ip();
        let min_rate = caps.min_rate.max(1);
        let mut reclaimed = Vec::new();
        if caps.per_ip > 0 && self.per_ip.get(&ip).copied().unwrap_or(0) >= caps.per_ip {
            match self.reclaim(now, min_rate, Some(ip)) {
                Some(r) => reclaimed.push(r),
                None => return Admission::Full("per-address connection limit"),
            }
        }
        if self.conns.len() >= caps.total {
            match self.reclaim(now, min_rate, None) {
                Some(r) => reclaimed.push(r),
                None => return Admission::Full("connection cap"),
            }
        }
        if caps.per_ip > 0 {
            *self.per_ip.entry(ip).or_insert(0) += 1;
        }
        self.conns.insert(id, conn.clone());
        Admission::In(reclaimed)
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
    pub fn may_wait(&self, caps: Caps) -> bool {
        self.queue.len() < caps.total
    }

    /// Whether `id` is first in the queue.
    pub fn is_next(&self, id: u64) -> bool {
        self.queue.front().is_some_and(|(first, _)| *first == id)
    }

    /// Wakes the first waiting connection, if any: room may have been made.
    pub fn wake_next(&self) {
        if let Some((_, cv)) = self.queue.front() {
            cv.notify_one();
        }
    }

    /// Forgets a connection; `None` if it was already reclaimed.
    pub fn remove(&mut self, id: u64) -> Option<LiveConnection> {
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
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// Whether no connection is live.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Stops reading on every connection that waits for a request, so that it ends now.
    pub fn close_waiting(&self) {
        for conn in self.conns.values() {
            if conn.activity.is_waiting() {
                let _ = conn.stream.shutdown(Shutdown::Read);
            }
        }
    }

    /// Closes every connection, busy or not.
    pub fn close_all(&self) {
        for conn in self.conns.values() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
    }
}
