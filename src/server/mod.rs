//! The web server: bind, accept, one thread per connection under a cap, graceful shutdown.
//!
//! The server knows nothing of routes, templates or SQL. Files first: a path that names a file
//! under its static roots it serves itself; every other request it hands to the [`App`] it
//! was given.

mod acceptor;
mod access_log;
mod activity;
pub mod basic_auth;
mod body;
mod connection;
pub mod cors;
mod date;
mod dispatch;
pub mod error_pages;
mod features;
mod files_only;
pub mod forwarded;
mod framing;
pub mod glob;
mod grammar;
mod head;
pub mod header_rules;
mod live;
mod metrics;
pub mod redirects;
mod request;
mod response;
mod sender;
mod settings;
mod state;
mod static_files;
mod target;
#[cfg(feature = "tls")]
mod tls;
#[cfg(not(feature = "tls"))]
#[path = "no_tls.rs"]
mod tls;
mod tls_error;
#[cfg(feature = "tls")]
mod tls_stream;
mod transport;
mod upload;

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

pub use files_only::FilesOnly;
pub use settings::{AccessLog, ServerConfig, MAX_HEADERS_CEILING};
pub use settings::{TlsFiles, Uploads};
pub use tls_error::TlsError;

use crate::http::App;
use connection::Listening;
use state::ServerState;

/// A failure to start listening.
#[derive(Debug)]
pub enum BindError {
    /// Another process holds the address.
    AddrInUse(SocketAddr),
    /// Any other failure, with the address it happened on.
    Io(SocketAddr, io::Error),
    /// A folder of files cannot be used.
    StaticDir(PathBuf, io::Error),
    /// The access log file cannot be opened.
    AccessLog(PathBuf, io::Error),
    /// The certificate or key cannot be used.
    Tls(TlsError),
    /// An error page cannot be read.
    ErrorPage(PathBuf, io::Error),
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::AddrInUse(a) => write!(f, "address already in use: {a}"),
            BindError::Io(a, e) => write!(f, "cannot listen on {a}: {e}"),
            BindError::StaticDir(p, e) => write!(f, "folder {}: {e}", p.display()),
            BindError::AccessLog(p, e) => write!(f, "access log {}: {e}", p.display()),
            BindError::Tls(e) => write!(f, "{e}"),
            BindError::ErrorPage(p, e) => write!(f, "error page {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BindError {}

impl BindError {
    fn static_dir((dir, e): (PathBuf, io::Error)) -> BindError {
        BindError::StaticDir(dir, e)
    }
}

/// A bound, not yet running server.
pub struct Server {
    listeners: Vec<(TcpListener, Listening)>,
    state: Arc<ServerState>,
}

/// Asks a running server to stop accepting and finish what it is doing.
#[derive(Clone)]
pub struct ShutdownHandle(Arc<ServerState>);

impl ShutdownHandle {
    /// Begins a graceful shutdown; `Server::run` returns once it is done.
    pub fn shutdown(&self) {
        self.0.live.begin_shutdown();
    }
}

/// Reloads the TLS certificate and key from their files (on SIGHUP).
#[derive(Clone)]
pub struct ReloadHandle(Arc<ServerState>);

impl ReloadHandle {
    /// Reads the certificate and key again: new handshakes present them, connections already
    /// open carry on. On failure the old pair stays and the error says why. `Ok(false)` when
    /// the server has no TLS.
    pub fn reload_tls(&self) -> Result<bool, TlsError> {
        match &self.0.tls {
            Some(tls) => tls.reload().map(|()| true),
            None => Ok(false),
        }
    }
}

/// Which of `paths` (raw request paths) the server answers itself because they name a static
/// file or a folder with `index.html`: files come first, so requests for them never reach the
/// App. `miniweb --routes` warns about routes shadowed this way.
pub fn static_paths<'a>(
    config: &ServerConfig,
    paths: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<&'a str>, BindError> {
    let files = static_files::StaticFiles::open(config).map_err(BindError::static_dir)?;
    Ok(paths
        .into_iter()
        .filter(|p| !matches!(files.lookup(p), static_files::Cached::Missing))
        .collect())
}

impl Server {
    /// Binds every address in `addrs`. With port 0 on several addresses, the first one picks the
    /// port and the others reuse it, so `localhost` means one port on both loopbacks.
    /// An address after the first that the machine lacks (no IPv6) is skipped with a warning.
    pub fn bind(addrs: &[SocketAddr], config: ServerConfig) -> Result<Server, BindError> {
        let static_files =
            static_files::StaticFiles::open(&config).map_err(BindError::static_dir)?;
        log::info!("static files: {}", static_files.sources());
        let error_pages = error_pages::ErrorPages::read(&config.error_pages)
            .map_err(|(p, e)| BindError::ErrorPage(p, e))?;
        features::log_enabled(&config, addrs);
        if !config.trusted_proxies.is_empty() {
            log::info!(
                "forwarding headers believed from {} (trusted_proxies)",
                config.trusted_proxies
            );
        }
        if let Some(origin) = &config.public_origin {
            log::info!("form posts must come from {origin} (public_origin)");
        }
        // A bad certificate stops start-up before anything listens.
        let tls = match &config.tls {
            Some(files) => Some(tls::Tls::new(files).map_err(BindError::Tls)?),
            None => None,
        };
        // With port 0, the port the first address drew may be taken on another one: draw again.
        let any_port = addrs.iter().all(|a| a.port() == 0);
        let mut attempt = 0;
        let main = loop {
            attempt += 1;
            match bind_all(addrs, config.listen_backlog) {
                Err(BindError::AddrInUse(_)) if any_port && attempt < 8 => continue,
                other => break other?,
            }
        };
        let (kind, https_port) = match &tls {
            Some(_) => (Listening::Https, main[0].local_addr().map(|a| a.port())),
            None => (Listening::Http, Ok(0)),
        };
        let https_port = https_port.map_err(|e| BindError::Io(addrs[0], e))?;
        let mut listeners: Vec<_> = main.into_iter().map(|l| (l, kind)).collect();
        if let (Some(_), Some(port)) = (&tls, config.http_redirect_port) {
            let plain: Vec<SocketAddr> = addrs
                .iter()
                .map(|a| SocketAddr::new(a.ip(), port))
                .collect();
            let redirect = Listening::RedirectToHttps(https_port);
            listeners.extend(
                bind_all(&plain, config.listen_backlog)?
                    .into_iter()
                    .map(|l| (l, redirect)),
            );
        }
        let access_log = access_log::AccessLogger::open(&config.access_log).map_err(|e| {
            let path = match &config.access_log {
                AccessLog::File(p) => p.clone(),
                _ => PathBuf::from("-"),
            };
            BindError::AccessLog(path, e)
        })?;
        Ok(Server {
            listeners,
            state: Arc::new(ServerState::new(
                config,
                static_files,
                access_log,
                tls,
                error_pages,
            )),
        })
    }

    /// The addresses actually bound (useful with port 0), without the redirecting ones.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|(_, kind)| !matches!(kind, Listening::RedirectToHttps(_)))
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// A handle that reloads the TLS certificate (for SIGHUP).
    pub fn reload_handle(&self) -> ReloadHandle {
        ReloadHandle(self.state.clone())
    }

    /// A handle that stops this server from another thread or a signal handler thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.state.clone())
    }

    /// Serves until shut down, then waits for requests in flight (at most the grace period).
    pub fn run(self, app: Arc<dyn App>) {
        if let Some(tls) = &self.state.tls {
            let files = tls.files();
            log::info!(
                "HTTPS with {} and {} (TLS 1.2 and 1.3; SIGHUP reloads them)",
                files.cert.display(),
                files.key.display()
            );
        }
        for (listener, kind) in &self.listeners {
            let Ok(addr) = listener.local_addr() else {
                continue;
            };
            match kind {
                Listening::Http => log::info!("listening on http://{addr}"),
                Listening::Https => log::info!("listening on https://{addr}"),
                Listening::RedirectToHttps(port) => {
                    log::info!("listening on http://{addr}, redirecting to https on port {port}")
                }
            }
        }
        let acceptors: Vec<_> = self
            .listeners
            .into_iter()
            .map(|(l, kind)| acceptor::Acceptors::start(l, kind, self.state.clone(), app.clone()))
            .collect();

        let live = &self.state.live;
        live.wait_for_shutdown();
        log::info!("shutting down: no new connections, finishing requests in flight");

        for acceptor in &acceptors {
            stop_accepting(acceptor.listener());
        }

        // Connections waiting for a next request are closed now; busy ones close after their
        // response, which carries `Connection: close`.
        live.drain(self.state.config.shutdown_grace);
        log::info!("stopped");
    }
}

/// Wakes every thread blocked in `accept` on `listener` by shutting it down; each sees the
/// shutdown flag and ends, and new connections are refused from here on.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn stop_accepting(listener: &TcpListener) {
    if let Err(e) = rustix::net::shutdown(listener, rustix::net::Shutdown::Read) {
        log::warn!("cannot stop accepting: {e}");
    }
}

/// Only Linux shuts down a listening socket (macOS and Windows answer "not connected"): here
/// the threads stay in `accept`, drop what they accept once the flag is set, and end with the
/// process.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn stop_accepting(_listener: &TcpListener) {}

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

/// A small deterministic random generator for the randomised tests, so that failures reproduce.
#[cfg(test)]
pub(crate) fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}
