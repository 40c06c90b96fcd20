//! The web server: bind, accept, one thread per connection under a cap, graceful shutdown.
//!
//! The server knows nothing of routes, templates or SQL. It serves files under the static root
//! itself and hands `/` and `*.html` to the [`App`] it was given.

mod acceptor;
mod access_log;
mod connection;
mod date;
mod file_cache;
pub mod files;
mod request;
mod response;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::http::App;

/// The most header fields any configuration may allow (the parser's array is this long).
pub const MAX_HEADERS_CEILING: usize = 256;

/// Everything the server needs to know, already validated (see `config.rs`).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Folder whose files are served as they are.
    pub static_dir: PathBuf,
    /// Live connections at most; past this, new ones get a 503.
    pub max_connections: usize,
    /// Time a client has to send a whole request head (and each piece of a body).
    pub header_timeout: Duration,
    /// Time an idle keep-alive connection stays open.
    pub idle_timeout: Duration,
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

/// One live connection, as the shutdown code sees it.
pub(crate) struct LiveConnection {
    pub(crate) stream: Arc<TcpStream>,
    /// True while the connection waits for a new request with nothing buffered.
    pub(crate) idle: Arc<AtomicBool>,
}

/// State shared by the accept loops and every connection thread.
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    /// The static folder, canonicalised once so that containment checks are plain prefixes.
    pub(crate) static_root: PathBuf,
    /// Static files already resolved, revalidated with one `stat` per request.
    pub(crate) files: file_cache::FileCache,
    pub(crate) shutting_down: AtomicBool,
    /// Ids for the live set, shared by all listeners.
    pub(crate) next_id: AtomicU64,
    live: Mutex<HashMap<u64, LiveConnection>>,
    /// Signalled when shutdown begins, and during shutdown when a connection ends.
    changed: Condvar,
}

impl Shared {
    pub(crate) fn live(&self) -> MutexGuard<'_, HashMap<u64, LiveConnection>> {
        // A poisoned lock only means a thread panicked while holding it; the map is still sound.
        self.live.lock().unwrap_or_else(|e| e.into_inner())
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
            match bind_all(addrs) {
                Err(BindError::AddrInUse(_)) if any_port && attempt < 8 => continue,
                other => break other?,
            }
        };
        Ok(Server {
            listeners,
            shared: Arc::new(Shared {
                config,
                static_root,
                files: file_cache::FileCache::default(),
                shutting_down: AtomicBool::new(false),
                next_id: AtomicU64::new(0),
                live: Mutex::new(HashMap::new()),
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
        let pools: Vec<_> = self
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
        for pool in &pools {
            if let Err(e) = rustix::net::shutdown(pool.listener(), rustix::net::Shutdown::Read) {
                log::warn!("cannot stop accepting: {e}");
            }
        }

        // Connections waiting for a next request are closed now; busy ones close after their
        // response, which carries `Connection: close`.
        let deadline = Instant::now() + shared.config.shutdown_grace;
        let mut live = shared.live();
        for conn in live.values() {
            if conn.idle.load(Ordering::SeqCst) {
                let _ = conn.stream.shutdown(Shutdown::Read);
            }
        }
        while !live.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                log::warn!(
                    "grace period over; dropping {} connection(s) still busy",
                    live.len()
                );
                for conn in live.values() {
                    let _ = conn.stream.shutdown(Shutdown::Both);
                }
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

/// Binds every address, the later ones on the first one's port when they ask for port 0.
fn bind_all(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, BindError> {
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
        match TcpListener::bind(addr) {
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
        live.remove(&self.id);
        // Only the shutdown code waits for connections to end; waking it on every connection
        // otherwise would cost two context switches each.
        if self.shared.shutting_down.load(Ordering::SeqCst) {
            self.shared.changed.notify_all();
        }
    }
}

/// Answers a connection the server has no room for, without giving it a thread.
pub(crate) fn reject_busy(stream: &TcpStream) {
    let body =
        "<!DOCTYPE html>\n<title>503 Service Unavailable</title><h1>503 Service Unavailable</h1>\n";
    let msg = format!(
        "HTTP/1.1 503 Service Unavailable\r\nServer: miniweb\r\nDate: {}\r\nRetry-After: 1\r\n\
         Content-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        date::now(),
        body.len()
    );
    // Never let a slow client hold up the accept loop.
    let _ = stream.set_nonblocking(true);
    let _ = (&*stream).write_all(msg.as_bytes());
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
