//! The web server: bind, accept, one thread per connection under a cap, graceful shutdown.
//!
//! The server knows nothing of routes, templates or SQL. It serves files under the static root
//! itself and hands `/` and `*.html` to the [`App`] it was given.

mod acceptor;
mod access_log;
mod activity;
mod body;
mod connection;
mod date;
mod head;
mod live;
mod request;
mod response;
mod sender;
mod static_files;

use std::fmt;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::http::{App, Response};
use live::{Caps, LiveSet};

/// The most header fields any configuration may allow (the parser's array is this long).
pub const MAX_HEADERS_CEILING: usize = 256;

/// Everything the server needs to know, already validated (see `config.rs`). `Default` gives
/// the documented defaults of `config.toml`, serving `static/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Folder whose files are served as they are.
    pub static_dir: PathBuf,
    /// Live connections at most; past this, room is reclaimed from idle or slow connections,
    /// and new ones get a 503 only when there is none to reclaim.
    pub max_connections: usize,
    /// Live connections from one client address at most; 0 for no limit.
    pub max_connections_per_ip: usize,
    /// Pending connections the kernel queues for `accept` on each listener.
    pub listen_backlog: u32,
    /// Time a client has to send a whole request head: from the connection's start for its
    /// first request, from the first byte for later ones.
    pub header_timeout: Duration,
    /// Time an idle keep-alive connection stays open waiting for the next request.
    pub idle_timeout: Duration,
    /// Time for the first bytes of a request body ...
    pub body_timeout: Duration,
    /// ... and then one more second for every this many bytes received (0: no minimum).
    pub body_min_rate: u64,
    /// A response that makes no progress for this long is abandoned ...
    pub send_timeout: Duration,
    /// ... and so is one that averages fewer bytes per second than this after that grace
    /// (0: no minimum).
    pub send_min_rate: u64,
    /// How long the server drains what a client still sends after its last response before
    /// closing (the lingering close), in all.
    pub linger_timeout: Duration,
    /// Largest request head (request line plus header fields) in bytes.
    pub max_head_bytes: usize,
    /// Most header fields in one request.
    pub max_headers: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: u64,
    /// `Cache-Control` sent with static files.
    pub cache_control: String,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            static_dir: PathBuf::from("static"),
            max_connections: 1024,
            max_connections_per_ip: 0,
            listen_backlog: 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(10),
            body_min_rate: 500,
            send_timeout: Duration::from_secs(30),
            send_min_rate: 1024,
            linger_timeout: Duration::from_secs(2),
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            max_body_bytes: 1024 * 1024,
            cache_control: "public, max-age=300".into(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A failure to start listening.
#[derive(Debug)]
pub enum BindError {
    /// Another process holds the address.
    AddrInUse(SocketAddr),
    /// Any other failure, with the address it happened on.
    Io(SocketAddr, io::Error),
    /// The static folder cannot be used.
    StaticDir(PathBuf, io::Error),
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::AddrInUse(a) => write!(f, "address already in use: {a}"),
            BindError::Io(a, e) => write!(f, "cannot listen on {a}: {e}"),
            BindError::StaticDir(p, e) => write!(f, "static folder {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BindError {}

/// State shared by the accept loops and every connection thread.
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    /// The files under the static folder.
    pub(crate) static_files: static_files::StaticFiles,
    pub(crate) shutting_down: AtomicBool,
    /// Ids for the live set, shared by all listeners.
    pub(crate) next_id: AtomicU64,
    live: Mutex<LiveSet>,
    /// Signalled when shutdown begins, and during shutdown when a connection ends.
    changed: Condvar,
}

impl Shared {
    pub(crate) fn live(&self) -> MutexGuard<'_, LiveSet> {
        // A poisoned lock only means a thread panicked while holding it; the set is still sound.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
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
        let caps = self.caps();
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
            live = me
                .wait_timeout(live, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        };
        live.queue.retain(|(queued, _)| *queued != id);
        live.wake_next();
        outcome
    }
}

/// A bound, not yet running server.
pub struct Server {
    listeners: Vec<TcpListener>,
    shared: Arc<Shared>,
}

/// Asks a running server to stop accepting and finish what it is doing.
#[derive(Clone)]
pub struct ShutdownHandle(Arc<Shared>);

impl ShutdownHandle {
    /// Begins a graceful shutdown; `Server::run` returns once it is done.
    pub fn shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::SeqCst);
        let _guard = self.0.live();
        self.0.changed.notify_all();
    }
}

impl Server {
    /// Binds every address in `addrs`. With port 0 on several addresses, the first one picks the
    /// port and the others reuse it, so `localhost` means one port on both loopbacks.
    /// An address after the first that the machine lacks (no IPv6) is skipped with a warning.
    pub fn bind(addrs: &[SocketAddr], config: ServerConfig) -> Result<Server, BindError> {
        let static_root = config
            .static_dir
            .canonicalize()
            .map_err(|e| BindError::StaticDir(config.static_dir.clone(), e))?;
        // With port 0, the port the first address drew may be taken on another one: draw again.
        let any_port = addrs.iter().all(|a| a.port() == 0);
        let mut attempt = 0;
        let listeners = loop {
            attempt += 1;
            match bind_all(addrs, config.listen_backlog) {
                Err(BindError::AddrInUse(_)) if any_port && attempt < 8 => continue,
                other => break other?,
            }
        };
        let static_files =
            static_files::StaticFiles::new(static_root, config.cache_control.clone());
        Ok(Server {
            listeners,
            shared: Arc::new(Shared {
                config,
                static_files,
                shutting_down: AtomicBool::new(false),
                next_id: AtomicU64::new(0),
                live: Mutex::new(LiveSet::default()),
                changed: Condvar::new(),
            }),
        })
    }

    /// The addresses actually bound (useful with port 0).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// A handle that stops this server from another thread or a signal handler thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shared.clone())
    }

    /// Serves until shut down, then waits for requests in flight (at most the grace period).
    pub fn run(self, app: Arc<dyn App>) {
        let addrs = self.local_addrs();
        for addr in &addrs {
            log::info!("listening on http://{addr}");
        }
        let acceptors: Vec<_> = self
            .listeners
            .into_iter()
            .map(|l| acceptor::Acceptors::start(l, self.shared.clone(), app.clone()))
            .collect();

        let shared = &self.shared;
        let mut live = shared.live();
        while !shared.shutting_down.load(Ordering::SeqCst) {
            live = shared.changed.wait(live).unwrap_or_else(|e| e.into_inner());
        }
        drop(live);
        log::info!("shutting down: no new connections, finishing requests in flight");

        // Shutting the listening sockets down wakes every thread blocked in `accept`; each sees
        // the flag and ends. New connections are refused from here on.
        for acceptor in &acceptors {
            if let Err(e) = rustix::net::shutdown(acceptor.listener(), rustix::net::Shutdown::Read)
            {
                log::warn!("cannot stop accepting: {e}");
            }
        }

        // Connections waiting for a next request are closed now; busy ones close after their
        // response, which carries `Connection: close`.
        let deadline = Instant::now() + shared.config.shutdown_grace;
        let mut live = shared.live();
        live.close_waiting();
        while !live.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                log::warn!(
                    "grace period over; dropping {} connection(s) still busy",
                    live.len()
                );
                live.close_all();
                break;
            }
            live = shared
                .changed
                .wait_timeout(live, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        log::info!("stopped");
    }
}

/// Binds every address, the later ones on the first one's port when they ask for port 0, and
/// sets each one's accept queue to `backlog` (the standard library's fixed 128 overflows when
/// hundreds of clients connect at once, and the kernel then drops their SYNs for seconds).
fn bind_all(addrs: &[SocketAddr], backlog: u32) -> Result<Vec<TcpListener>, BindError> {
    let mut listeners: Vec<TcpListener> = Vec::new();
    for addr in addrs {
        let mut addr = *addr;
        if let Some(first) = listeners.first() {
            if addr.port() == 0 {
                addr.set_port(
                    first
                        .local_addr()
                        .map_err(|e| BindError::Io(addr, e))?
                        .port(),
                );
            }
        }
        let bound = TcpListener::bind(addr).and_then(|l| {
            // Listening again on a listening socket only changes its backlog.
            rustix::net::listen(&l, backlog.min(i32::MAX as u32) as i32)?;
            Ok(l)
        });
        match bound {
            Ok(l) => listeners.push(l),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                return Err(BindError::AddrInUse(addr))
            }
            Err(e) if !listeners.is_empty() => {
                log::warn!("not listening on {addr}: {e}");
            }
            Err(e) => return Err(BindError::Io(addr, e)),
        }
    }
    Ok(listeners)
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

/// A small deterministic random generator for the randomised tests, so that failures reproduce.
#[cfg(test)]
pub(crate) fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
