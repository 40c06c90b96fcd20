//! What the accept loops and every connection thread share: the settings, the static files,
//! the access log, the certificate, the live connections and the requests in flight behind
//! a proxy.

use std::net::{IpAddr, SocketAddr};

use super::access_log::AccessLogger;
use super::basic_auth::Verdict;
use super::error_pages::ErrorPages;
use super::forwarded::{InFlight, InFlightByClient};
use super::head::Head;
use super::live::{Caps, Live};
use super::metrics::Metrics;
use super::settings::ServerConfig;
use super::static_files::StaticFiles;
use super::tls::Tls;
use super::upload::is_upload;
use crate::http::Request;

/// The server's state, one for all its listeners and threads.
pub(crate) struct ServerState {
    pub(crate) config: ServerConfig,
    /// The files under the static folder.
    pub(crate) static_files: StaticFiles,
    /// Where each exchange is recorded.
    pub(crate) access_log: AccessLogger,
    /// The certificate and TLS settings, with `tls_cert` and `tls_key`.
    pub(crate) tls: Option<Tls>,
    /// Who holds a connection, and whether the server is shutting down.
    pub(crate) live: Live,
    /// Requests in flight per client a trusted proxy forwarded.
    forwarded: InFlightByClient,
    /// The site's own error pages, read at start-up.
    pub(crate) error_pages: ErrorPages,
    /// The counters `/metrics` shows.
    pub(crate) metrics: Metrics,
}

impl ServerState {
    /// Nothing live yet, not shutting down.
    pub(crate) fn new(
        config: ServerConfig,
        static_files: StaticFiles,
        access_log: AccessLogger,
        tls: Option<Tls>,
        error_pages: ErrorPages,
    ) -> ServerState {
        ServerState {
            error_pages,
            metrics: Metrics::default(),
            config,
            static_files,
            access_log,
            tls,
            live: Live::default(),
            forwarded: InFlightByClient::default(),
        }
    }

    /// The caps a new connection from `peer` is admitted under. A proxy's connections carry
    /// many clients: they are limited per forwarded client, request by request
    /// ([`ServerState::enter_forwarded`]), not per connection.
    pub(crate) fn caps_for(&self, peer: SocketAddr) -> Caps {
        let config = &self.config;
        let proxy = config.trusted_proxies.contains(peer.ip());
        Caps {
            total: config.max_connections,
            per_ip: config.max_connections_per_ip.filter(|_| !proxy),
            min_rate: config.body_min_rate,
        }
    }

    /// What basic auth makes of the request `head` for `raw_path`, judged once, before its
    /// body is read: an upload needs a user wherever it goes, unless uploads are open to
    /// anyone.
    pub(crate) fn verdict(&self, head: &Head, raw_path: &str) -> Verdict {
        let config = &self.config;
        let Some(auth) = &config.auth else {
            return Verdict::Open;
        };
        let needs_user = config
            .uploads
            .as_ref()
            .is_some_and(|u| !u.anyone && is_upload(&head.method, raw_path));
        auth.judge(raw_path, &head.headers, needs_user)
    }

    /// The most bytes the body of the request `head` for `raw_path` may have: the upload
    /// limit for an upload its sender may make (signed in, or uploads open to anyone),
    /// `max_body_bytes` for any other, so that nobody else can make the server take in a
    /// large body.
    pub(crate) fn body_limit(&self, head: &Head, raw_path: &str, verdict: &Verdict) -> u64 {
        match &self.config.uploads {
            Some(up)
                if is_upload(&head.method, raw_path)
                    && (up.anyone || *verdict == Verdict::SignedIn) =>
            {
                up.max_bytes
            }
            _ => self.config.max_body_bytes,
        }
    }

    /// Counts `req` against its client's per-address limit when a trusted proxy forwarded
    /// it: `Ok(Some(place))` to go on, `Err(client)` when the client already has as many
    /// requests in flight as `max_connections_per_ip`; `Ok(None)` when there is nothing to
    /// count (no limit, or the client connected directly and was counted on admission).
    pub(crate) fn enter_forwarded(&self, req: &Request) -> Result<Option<InFlight<'_>>, IpAddr> {
        let (Some(limit), Some(client), Some(peer)) =
            (self.config.max_connections_per_ip, req.client, req.peer)
        else {
            return Ok(None);
        };
        if !self.config.trusted_proxies.contains(peer.ip()) {
            return Ok(None);
        }
        self.forwarded.enter(client, limit.get()).map(Some)
    }
}
