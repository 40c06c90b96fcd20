//! The start-up lines of the features a folder server is asked for: each one that is on says
//! so in one line, and auth over plain HTTP on a public address gets a warning, since the
//! passwords then cross the network in clear.

use std::net::SocketAddr;

use super::settings::ServerConfig;

/// Logs one line for each feature `config` turns on, for a server listening on `addrs`.
pub(super) fn log_enabled(config: &ServerConfig, addrs: &[SocketAddr]) {
    if !config.header_rules.is_empty() {
        let globs: Vec<&str> = config
            .header_rules
            .iter()
            .map(|r| r.path.as_str())
            .collect();
        log::info!("headers: {} rule(s), for {}", globs.len(), globs.join(", "));
    }
    if let Some(cors) = &config.cors {
        log::info!("cors: answers readable by {}", cors.describe());
    }
    if !config.rules.is_empty() {
        log::info!("redirects: {}", config.rules.describe());
    }
    if let Some(auth) = &config.auth {
        log::info!("basic auth: {}", auth.describe());
        let public = addrs.iter().any(|a| !a.ip().is_loopback());
        if public && config.tls.is_none() {
            log::warn!(
                "basic auth over plain HTTP on a public address: passwords cross the network \
                 in clear; use tls_cert and tls_key, or a TLS proxy in front"
            );
        }
    }
    if let Some(file) = &config.fallback {
        log::info!("spa: {file} for page paths with nothing behind them");
    }
    if !config.error_pages.is_empty() {
        log::info!("error pages: {}", config.error_pages.describe());
    }
    if config.archives {
        log::info!("archives: listed folders download as ?download=tar.gz or ?download=zip");
    }
    if let Some(up) = &config.uploads {
        let who = if up.anyone {
            "anyone"
        } else {
            "signed-in users"
        };
        let overwrite = if up.overwrite {
            ", replacing files"
        } else {
            ""
        };
        log::info!(
            "uploads: {who} may upload (PUT, or the listing's form), up to {} bytes{overwrite}",
            up.max_bytes
        );
    }
    if config.metrics {
        log::info!("metrics: GET /metrics from {}", config.metrics_from);
    }
}
