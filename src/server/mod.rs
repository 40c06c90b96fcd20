//! The web server: bind, accept, one thread per connection under a cap, graceful shutdown.
//!
//! The server knows nothing of routes, templates or SQL. It serves files under the static root
//! itself and hands `/` and `*.html` to the [`App`] it was given.

mod access_log;
mod connection;
mod date;
mod file_cache;
pub mod files;
mod request;

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::http::App;

/// Stack size of a connection thread. A request's path through the server and the app needs
/// far less; pages are touched only as used, so idle connections cost a few KiB each.
const CONNECTION_STACK_BYTES: usize = 256 * 1024;

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
struct LiveConnection {
    stream: TcpStream,
    /// True while the connection waits for a new request with nothing buffered.
    idle: Arc<AtomicBool>,
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
    next_id: AtomicU64,
    live: Mutex<HashMap<u64, LiveConnection>>,
    /// Signalled when a connection ends or shutdown begins.
    changed: Condvar,
}

impl Shared {
    fn live(&self) -> MutexGuard<'_, HashMap<u64, LiveConnection>> {
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
        let mut accept_threads = Vec::new();
        for listener in self.listeners {
            let shared = self.shared.clone();
            let app = app.clone();
            let spawned = thread::Builder::new()
                .name("accept".into())
                .spawn(move || accept_loop(listener, shared, app));
            match spawned {
                Ok(t) => accept_threads.push(t),
                Err(e) => log::error!("cannot start accept thread: {e}"),
            }
        }

        let shared = &self.shared;
        let mut live = shared.live();
        while !shared.shutting_down.load(Ordering::SeqCst) {
            live = shared.changed.wait(live).unwrap_or_else(|e| e.into_inner());
        }
        drop(live);
        log::info!("shutting down: no new connections, finishing requests in flight");

        // Wake each accept loop with a connection of our own; it sees the flag and returns.
        for addr in &addrs {
            let _ = TcpStream::connect_timeout(&wake_addr(addr), Duration::from_secs(1));
        }
        for t in accept_threads {
            let _ = t.join();
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

/// The address to connect to in order to wake a listener bound to `addr`.
fn wake_addr(addr: &SocketAddr) -> SocketAddr {
    let mut a = *addr;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, app: Arc<dyn App>) {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(pair) => pair,
            Err(e) => {
                if shared.shutting_down.load(Ordering::SeqCst) {
                    return;
                }
                // EMFILE and friends: back off briefly instead of spinning.
                log::error!("accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if shared.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        let _ = stream.set_nodelay(true);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let idle = Arc::new(AtomicBool::new(true));
        {
            let mut live = shared.live();
            if live.len() >= shared.config.max_connections {
                drop(live);
                log::warn!("{peer}: connection cap reached, answering 503");
                reject_busy(stream);
                continue;
            }
            match stream.try_clone() {
                Ok(clone) => {
                    live.insert(
                        id,
                        LiveConnection {
                            stream: clone,
                            idle: idle.clone(),
                        },
                    );
                }
                Err(e) => {
                    log::error!("{peer}: cannot track connection: {e}");
                    continue;
                }
            }
        }
        let conn_shared = shared.clone();
        let app = app.clone();
        let spawned = thread::Builder::new()
            .name("conn".into())
            .stack_size(CONNECTION_STACK_BYTES)
            .spawn(move || {
                let _guard = Deregister {
                    shared: &conn_shared,
                    id,
                };
                connection::serve(stream, peer, &conn_shared, &*app, &idle);
            });
        if let Err(e) = spawned {
            log::error!("{peer}: cannot start a thread: {e}");
            let mut live = shared.live();
            if let Some(conn) = live.remove(&id) {
                reject_busy(conn.stream);
            }
        }
    }
}

/// Removes a connection from the live set when its thread ends, however it ends.
struct Deregister<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Deregister<'_> {
    fn drop(&mut self) {
        let mut live = self.shared.live();
        live.remove(&self.id);
        self.shared.changed.notify_all();
    }
}

/// Answers a connection the server has no room for, without giving it a thread.
fn reject_busy(mut stream: TcpStream) {
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
    let _ = stream.write_all(msg.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}
