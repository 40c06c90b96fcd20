//! The server's settings: one plain struct, filled by the caller (the runner from
//! `config.toml`, an example with `ServerConfig::default()`).

use super::basic_auth::BasicAuth;
use super::cors::Cors;
use super::error_pages::ErrorPageFiles;
use super::forwarded::TrustedProxies;
use super::header_rules::HeaderRule;
use super::redirects::Rules;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the access log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLog {
    /// Standard output (the default), apart from the diagnostic log on standard error.
    Stdout,
    /// Appended to this file.
    File(PathBuf),
    /// Not written.
    Off,
}

/// The most header fields any configuration may allow (the parser's array is this long).
pub const MAX_HEADERS_CEILING: usize = 256;

/// Everything the server needs to know, already validated (see `config.rs`). `Default` gives
/// the documented defaults of `config.toml`, serving `static/` and nothing built in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Folder of the site's files (stylesheets, images), served as they are. When it does not
    /// exist, `builtin_static` is served in its place (and with nothing built in, no files:
    /// a missing static folder is no error).
    pub static_dir: Option<PathBuf>,
    /// A folder served before the site's files (`miniweb -d DIR` serves one alone, as
    /// `python3 -m http.server -d DIR`); it must exist.
    pub document_root: Option<PathBuf>,
    /// Files never served nor listed, wherever they lie (the config file, the database and
    /// its `-wal`/`-shm`). Besides these, SQLite files are never served by their names
    /// (`*.db`, `*.sqlite`, `*.sqlite3` and their `-wal`, `-shm`, `-journal`).
    pub never_served: Vec<PathBuf>,
    /// The site's files compiled into the binary, as (path under the folder with `/`, bytes):
    /// served when `static_dir` does not exist.
    pub builtin_static: &'static [(&'static str, &'static [u8])],
    /// List a folder without `index.html` (HTML, or JSON for `Accept: application/json`).
    pub autoindex: bool,
    /// The stylesheet the HTML listing links to; `None` for a few lines of its own.
    pub autoindex_stylesheet: Option<String>,
    /// Compress compressible files (text, JSON, JS, SVG, ...) with br or gzip, once each, as
    /// the client accepts; precompressed siblings (`app.css.br`) are served either way.
    pub compression: bool,
    /// Live connections at most; past this, room is reclaimed from idle or slow connections,
    /// and new ones get a 503 only when there is none to reclaim.
    pub max_connections: NonZeroUsize,
    /// Live connections from one client address at most; `None` for no limit. Behind a
    /// trusted proxy, requests in flight from one forwarded client address at most, instead.
    pub max_connections_per_ip: Option<NonZeroUsize>,
    /// Peers whose `Forwarded` / `X-Forwarded-*` headers are believed (reverse proxies).
    pub trusted_proxies: TrustedProxies,
    /// The site's origin (`https://stocks.example`) whatever the request says, for a proxy
    /// that forwards nothing; `None` to take it from the request.
    pub public_origin: Option<String>,
    /// HTTPS on the listening addresses instead of HTTP, with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// With `tls`, also listen for plain HTTP on this port (same addresses) and redirect every
    /// request to HTTPS.
    pub http_redirect_port: Option<u16>,
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
    /// A body larger than this goes to an unnamed temporary file as it arrives, instead of
    /// memory: an upload costs a connection this much memory at most.
    pub body_memory_bytes: usize,
    /// `Cache-Control` sent with static files.
    pub cache_control: String,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// Where the access log goes.
    pub access_log: AccessLog,
    /// Headers set on the answers to the paths each rule's glob matches (`[[headers]]`).
    pub header_rules: Vec<HeaderRule>,
    /// Origins whose pages may read the server's answers (`cors_origins`); `None` for none.
    pub cors: Option<Cors>,
    /// Redirects and rewrites, checked before the files and the app.
    pub rules: Rules,
    /// Basic auth for the paths under a prefix; `None` for none.
    pub auth: Option<Arc<BasicAuth>>,
    /// The file (a path from `/`) served with 200 for a page path with nothing behind it
    /// (`--spa`: `/index.html`); `None` for a plain 404.
    pub fallback: Option<String>,
    /// The site's pages for a 404 and for every 5xx, in place of the server's own.
    pub error_pages: ErrorPageFiles,
    /// A listed folder may be downloaded as a `.tar.gz` or `.zip` (`?download=`).
    pub archives: bool,
    /// Uploads into the first folder served (`PUT`, and a form on the listing); `None` for
    /// none.
    pub uploads: Option<Uploads>,
    /// `GET /metrics` (`--metrics`, `metrics = true`).
    pub metrics: bool,
    /// The client addresses `/metrics` answers (`metrics_from`); to any other it is a path
    /// like any other. Loopback by default.
    pub metrics_from: TrustedProxies,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            static_dir: Some(PathBuf::from("static")),
            document_root: None,
            never_served: Vec::new(),
            builtin_static: &[],
            autoindex: false,
            autoindex_stylesheet: None,
            compression: true,
            max_connections: NonZeroUsize::new(1024).expect("not zero"),
            max_connections_per_ip: None,
            trusted_proxies: TrustedProxies::default(),
            public_origin: None,
            tls: None,
            http_redirect_port: None,
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
            body_memory_bytes: 256 * 1024,
            cache_control: "public, max-age=300".into(),
            shutdown_grace: Duration::from_secs(10),
            access_log: AccessLog::Stdout,
            header_rules: Vec::new(),
            cors: None,
            rules: Rules::default(),
            auth: None,
            fallback: None,
            error_pages: ErrorPageFiles::default(),
            archives: false,
            uploads: None,
            metrics: false,
            metrics_from: TrustedProxies::parse(LOOPBACK).expect("loopback parses"),
        }
    }
}

/// Both loopback addresses, as `metrics_from` lists them by default.
const LOOPBACK: &str = "127.0.0.1, ::1";

/// What uploads may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploads {
    /// Anyone may upload, signed in or not.
    pub anyone: bool,
    /// An upload may replace a file of the same name.
    pub overwrite: bool,
    /// The largest upload, in bytes (the whole body).
    pub max_bytes: u64,
}

/// Where the certificate chain (leaf first) and its private key are, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain: the site's certificate, then any intermediates.
    pub cert: PathBuf,
    /// The private key of the site's certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}
