//! What the accept loops and every connection thread share: the settings, the static files,
//! the live set with its admission, and the shutdown flag.

use crate::sync::Unpoisoned;
use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::access_log::AccessLogger;
use super::live::{self, Caps, LiveSet};
use super::response;
use super::settings::ServerConfig;
use super::static_files::StaticFiles;
use super::tls::Tls;
use crate::http::{Request, Response};

/// State shared by the accept loops and every connection thread.
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    /// The files under the static folder.
    pub(crate) static_files: StaticFiles,
    /// Where each exchange is recorded.
    pub(crate) access_log: AccessLogger,
    /// The certificate and TLS settings, with `tls_cert` and `tls_key`.
    pub(crate) tls: Option<Tls>,
    pub(crate) shutting_down: AtomicBool,
    /// Ids for the live set, shared by all listeners.
    pub(crate) next_id: AtomicU64,
    live: Mutex<LiveSet>,
    /// Signalled when shutdown begins, and during shutdown when a connection ends.
    pub(crate) changed: Condvar,
    /// Requests in flight per client address that a trusted proxy forwarded, for the
    /// per-address limit behind a proxy.
    forwarded: Mutex<HashMap<IpAddr, usize>>,
}

/// A forwarded client's place among the requests in flight, given back when dropped.
pub(crate) struct InFlight<'a> {
    shared: &'a Shared,
    client: IpAddr,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut counts = self.shared.forwarded.lock().unpoisoned();
        if let Some(n) = counts.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

impl Shared {
    /// Nothing live yet, not shutting down.
    pub(crate) fn new(
        config: ServerConfig,
        static_files: StaticFiles,
        access_log: AccessLogger,
        tls: Option<Tls>,
    ) -> Shared {
        Shared {
            config,
            static_files,
            access_log,
            tls,
            shutting_down: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            live: Mutex::new(LiveSet::default()),
            changed: Condvar::new(),
            forwarded: Mutex::new(HashMap::new()),
        }
    }

    /// Counts `req` against its client's per-address limit when a trusted proxy forwarded
    /// it: `Ok(Some(place))` to go on, `Err(client)` when the client already has as many
    /// requests in flight as `max_connections_per_ip`; `Ok(None)` when there is nothing to
    /// count (no limit, or the client connected directly and was counted on admission).
    pub(crate) fn enter_forwarded(&self, req: &Request) -> Result<Option<InFlight<'_>>, IpAddr> {
        let limit = self.config.max_connections_per_ip;
        let (Some(client), Some(peer)) = (req.client, req.peer) else {
            return Ok(None);
        };
        if limit == 0 || !self.config.trusted_proxies.contains(peer.ip()) {
            return Ok(None);
        }
        let mut counts = self.forwarded.lock().unpoisoned();
        let n = counts.entry(client).or_insert(0);
        if *n >= limit {
            return Err(client);
        }
        *n += 1;
        Ok(Some(InFlight {
            shared: self,
            client,
        }))
    }

    pub(crate) fn live(&self) -> MutexGuard<'_, LiveSet> {
        // A poisoned lock only means a thread panicked while holding it; the set is still sound.
        self.live.lock().unpoisoned()
    }

    /// The caps new connections are admitted under.
    pub(crate) fn caps(&self) -> Caps {
        Caps {
            total: self.config.max_connections,
            per_ip: self.config.max_connections_per_ip,
            min_rate: self.config.body_min_rate,
        }
    }
}

impl Shared {
    /// Admits a new connection, reclaiming room where a cap is reached and, if there is none
    /// to reclaim, waiting up to `ADMIT_WAIT` in a first-come first-served queue for some
    /// (slow connections ripen, others end). `Full` means the client should be refused.
    pub(crate) fn admit(&self, id: u64, conn: &live::LiveConnection) -> live::Admission {
        let mut caps = self.caps();
        // A proxy's connections carry many clients: they are limited per forwarded client,
        // request by request (`enter_forwarded`), not per connection.
        if self.config.trusted_proxies.contains(conn.peer.ip()) {
            caps.per_ip = 0;
        }
        let mut live = self.live();
        if live.queue.is_empty() {
            match live.admit(id, conn, caps) {
                live::Admission::Full(_) if live.may_wait(caps) => {}
                admitted_or_refused => return admitted_or_refused,
            }
        } else if !live.may_wait(caps) {
            return live::Admission::Full("connection cap (and the queue for room)");
        }
        let deadline = Instant::now() + live::ADMIT_WAIT;
        let me = Arc::new(Condvar::new());
        live.queue.push_back((id, me.clone()));
        let outcome = loop {
            let now = Instant::now();
            let give_up = now >= deadline || self.shutting_down.load(Ordering::SeqCst);
            let wait = if live.is_next(id) {
                match live.admit(id, conn, caps) {
                    live::Admission::Full(cap) if give_up => break live::Admission::Full(cap),
                    live::Admission::Full(_) => {}
                    admitted => break admitted,
                }
                // Connections that end wake the first in line; slow ones ripen unannounced.
                (deadline - now).min(Duration::from_millis(20))
            } else if give_up {
                break live::Admission::Full("connection cap (waited in the queue for room)");
            } else {
                deadline - now
            };
            live = me.wait_timeout(live, wait).unpoisoned().0;
        };
        live.queue.retain(|(queued, _)| *queued != id);
        live.wake_next();
        outcome
    }
}

/// Removes a connection from the live set when its thread ends, however it ends.
pub(crate) struct Deregister<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) id: u64,
}

impl Drop for Deregister<'_> {
    fn drop(&mut self) {
        let mut live = self.shared.live();
        live.remove(self.id);
        live.wake_next();
        // Only the shutdown code waits for connections to end; waking it on every connection
        // otherwise would cost two context switches each.
        if self.shared.shutting_down.load(Ordering::SeqCst) {
            self.shared.changed.notify_all();
        }
    }
}

/// Answers a connection the server has no room for, without giving it a thread.
pub(crate) fn reject_busy(stream: &TcpStream) {
    let resp = Response::error_page(503).with_header("Retry-After", "1");
    let mut out = Vec::with_capacity(512);
    response::write_head(&mut out, &resp, Some("close"));
    out.extend_from_slice(resp.body.as_bytes().unwrap_or_default());
    // One attempt, never blocking: a slow client must not hold up the accept loop.
    let _ = stream.set_nonblocking(true);
    let _ = (&*stream).write(&out);
    let _ = stream.shutdown(Shutdown::Write);
}
