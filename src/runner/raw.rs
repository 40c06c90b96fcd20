//! Reading `config.toml`: its keys as a file writes them, each with its library default (taken
//! from the server's and the framework's own defaults, so there is one home for each), the
//! layers read over them, and the checks that turn them into a [`Config`]: ranges, paths
//! relative to the file, the pairs that go together (`tls_cert` and `tls_key`).

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::{Config, ConfigError, Sources, DEFAULT_FILE};
use super::layers::{overlay, with_env, Origins};
use crate::framework::{Location, Settings};
use crate::server::basic_auth::BasicAuth;
use crate::server::cors::Cors;
use crate::server::error_pages::ErrorPageFiles;
use crate::server::forwarded::TrustedProxies;
use crate::server::header_rules::HeaderRule;
use crate::server::redirects::{Redirect, Rewrite, Rules};
use crate::server::Uploads;
use crate::server::{AccessLog, ServerConfig, TlsFiles, MAX_HEADERS_CEILING};

/// The settings as written in the file; every field has a default, unknown keys are errors.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawConfig {
    host: String,
    port: i64,
    static_dir: PathBuf,
    document_root: PathBuf,
    autoindex: bool,
    autoindex_stylesheet: String,
    templates_dir: PathBuf,
    database: String,
    database_connections: i64,
    secret_key: String,
    session_max_age_secs: i64,
    max_upload_file_bytes: i64,
    migrations_dir: PathBuf,
    max_connections: i64,
    max_connections_per_ip: i64,
    trusted_proxies: String,
    public_origin: String,
    tls_cert: PathBuf,
    tls_key: PathBuf,
    http_redirect_port: i64,
    listen_backlog: i64,
    header_timeout_secs: i64,
    idle_timeout_secs: i64,
    body_timeout_secs: i64,
    body_min_bytes_per_sec: i64,
    send_timeout_secs: i64,
    send_min_bytes_per_sec: i64,
    linger_timeout_secs: i64,
    shutdown_grace_secs: i64,
    max_head_bytes: i64,
    max_headers: i64,
    max_body_bytes: i64,
    body_memory_bytes: i64,
    cache_control: String,
    page_cache: bool,
    compression: bool,
    server_timing: bool,
    dev: bool,
    log_level: String,
    access_log: String,
    cors_origins: String,
    auth_file: PathBuf,
    auth_path: String,
    fallback: String,
    page_404: PathBuf,
    page_50x: PathBuf,
    archives: bool,
    upload: bool,
    upload_anyone: bool,
    upload_overwrite: bool,
    upload_max_bytes: i64,
    metrics: bool,
    metrics_from: String,
    // Lists of tables come last: TOML writes them after the plain keys.
    headers: Vec<RawHeaderRule>,
    redirects: Vec<RawRedirect>,
    rewrites: Vec<RawRewrite>,
}

/// `[[headers]]`: the paths of a glob, and the headers to set on their answers.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawHeaderRule {
    path: String,
    set: std::collections::BTreeMap<String, String>,
}

/// `[[redirects]]`: a glob, its target, and the status (302 unless said).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRedirect {
    from: String,
    to: String,
    #[serde(default = "found")]
    status: u16,
}

fn found() -> u16 {
    302
}

/// `[[rewrites]]`: a glob, and the path served in its place.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRewrite {
    from: String,
    to: String,
}

/// The largest folder upload by default: 1 GiB.
pub(super) const DEFAULT_UPLOAD_MAX_BYTES: u64 = 1 << 30;

/// The server's keys take their defaults from the server itself (`ServerConfig::default`),
/// so that each default is written once; the framework's and the runner's are here.
impl Default for RawConfig {
    fn default() -> Self {
        let server = ServerConfig::default();
        let framework = Settings::default();
        let secs = |d: Duration| d.as_secs() as i64;
        let int = |n: usize| n as i64;
        RawConfig {
            host: "localhost".into(),
            port: 8080,
            static_dir: server.static_dir.unwrap_or_default(),
            document_root: server.document_root.unwrap_or_default(),
            autoindex: server.autoindex,
            autoindex_stylesheet: server.autoindex_stylesheet.unwrap_or_default(),
            templates_dir: framework.templates_dir,
            database: String::new(),
            database_connections: int(framework.database_connections),
            migrations_dir: framework.migrations_dir,
            secret_key: String::new(),
            session_max_age_secs: secs(framework.session_max_age),
            max_upload_file_bytes: framework.max_upload_file_bytes as i64,
            max_connections: int(server.max_connections.get()),
            max_connections_per_ip: server.max_connections_per_ip.map_or(0, |n| int(n.get())),
            trusted_proxies: String::new(),
            public_origin: server.public_origin.unwrap_or_default(),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            http_redirect_port: server.http_redirect_port.map_or(0, i64::from),
            listen_backlog: i64::from(server.listen_backlog),
            header_timeout_secs: secs(server.header_timeout),
            idle_timeout_secs: secs(server.idle_timeout),
            body_timeout_secs: secs(server.body_timeout),
            body_min_bytes_per_sec: server.body_min_rate as i64,
            send_timeout_secs: secs(server.send_timeout),
            send_min_bytes_per_sec: server.send_min_rate as i64,
            linger_timeout_secs: secs(server.linger_timeout),
            shutdown_grace_secs: secs(server.shutdown_grace),
            max_head_bytes: int(server.max_head_bytes),
            max_headers: int(server.max_headers),
            max_body_bytes: server.max_body_bytes as i64,
            body_memory_bytes: int(server.body_memory_bytes),
            cache_control: server.cache_control,
            page_cache: framework.page_cache,
            compression: server.compression,
            server_timing: framework.server_timing,
            dev: framework.dev,
            log_level: "info".into(),
            access_log: "-".into(),
            cors_origins: String::new(),
            auth_file: PathBuf::new(),
            auth_path: "/".into(),
            fallback: server.fallback.unwrap_or_default(),
            page_404: PathBuf::new(),
            page_50x: PathBuf::new(),
            archives: server.archives,
            upload: false,
            upload_anyone: false,
            upload_overwrite: false,
            upload_max_bytes: DEFAULT_UPLOAD_MAX_BYTES as i64,
            metrics: server.metrics,
            metrics_from: server.metrics_from.to_string(),
            headers: Vec::new(),
            redirects: Vec::new(),
            rewrites: Vec::new(),
        }
    }
}

impl Config {
    /// Loads the layers `sources` names: the library's defaults, the app's, the file (if
    /// any), then the `MINIWEB_*` environment variables.
    pub fn load(sources: Sources<'_>) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let (file, must_exist) = match sources.file {
            Some(p) => (Some(p.to_path_buf()), true),
            None if sources.default_file => (Some(PathBuf::from(DEFAULT_FILE)), false),
            None => (None, false),
        };
        let text = match &file {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Some(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => None,
                Err(e) => return Err(ConfigError(format!("{}: {e}", path.display()))),
            },
            None => None,
        };
        match (file, text) {
            (Some(path), Some(text)) => {
                Config::parse_layers(sources.app_defaults, Some((&text, &path)), &env)
            }
            _ => Config::parse_layers(sources.app_defaults, None, &env),
        }
    }

    /// Parses the text of a config file found at `file`, over the library's defaults alone,
    /// with no environment.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        Config::parse_layers("", Some((text, file)), &|_| None)
    }

    /// Parses the layers: `app_defaults` (TOML), then the text of a config file found at the
    /// given path, if any; `env` looks up `MINIWEB_*` variables. Without a file, relative
    /// paths are relative to the current folder.
    pub fn parse_layers(
        app_defaults: &str,
        file: Option<(&str, &Path)>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut table =
            toml::Table::try_from(RawConfig::default()).expect("the defaults serialise to a table");
        let mut origins = Origins::default();
        overlay(&mut table, app_defaults, "the app's defaults", &mut origins)
            .map_err(ConfigError)?;
        let base = match file {
            Some((text, path)) => {
                let name = path.display().to_string();
                overlay(&mut table, text, &name, &mut origins).map_err(ConfigError)?;
                let folder = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                folder
                    .canonicalize()
                    .map_err(|e| ConfigError(format!("{name}: folder {}: {e}", folder.display())))?
            }
            None => {
                std::env::current_dir().map_err(|e| ConfigError(format!("current folder: {e}")))?
            }
        };
        with_env(&mut table, env, &mut origins).map_err(ConfigError)?;
        let raw: RawConfig = table
            .try_into()
            .map_err(|e| ConfigError(format!("settings: {e}")))?;
        let mut config = raw.validate(&base, &origins)?;
        if let Some((_, path)) = file {
            config.file = Some(base.join(path.file_name().unwrap_or(path.as_os_str())));
        }
        Ok(config)
    }
}

impl RawConfig {
    pub(super) fn validate(self, base: &Path, from: &Origins) -> Result<Config, ConfigError> {
        let raw = self;
        let int = |key: &str, v: i64, min: i64, max: i64| -> Result<i64, ConfigError> {
            if v < min || v > max {
                Err(ConfigError(format!(
                    "{}: {key} must be {min}-{max}, got {v}",
                    from.of(key)
                )))
            } else {
                Ok(v)
            }
        };
        let secs =
            |key: &str, v: i64| int(key, v, 1, 86_400).map(|s| Duration::from_secs(s as u64));
        let rate = |key: &str, v: i64| int(key, v, 0, 1 << 40).map(|r| r as u64);
        let level = raw.log_level.to_ascii_lowercase();
        if !["off", "error", "warn", "info", "debug", "trace"].contains(&level.as_str()) {
            return Err(ConfigError(format!(
                "{}: log_level must be one of off, error, warn, info, debug, trace, got {:?}",
                from.of("log_level"),
                raw.log_level
            )));
        }
        if raw.host.trim().is_empty() {
            return Err(ConfigError(format!(
                "{}: host must not be empty",
                from.of("host")
            )));
        }
        if raw.cache_control.contains(['\r', '\n']) {
            return Err(ConfigError(format!(
                "{}: cache_control must be one line",
                from.of("cache_control")
            )));
        }
        let trusted_proxies = TrustedProxies::parse(&raw.trusted_proxies).map_err(|e| {
            ConfigError(format!(
                "{}: trusted_proxies: {e}",
                from.of("trusted_proxies")
            ))
        })?;
        let public_origin = match raw.public_origin.trim().trim_end_matches('/') {
            "" => None,
            origin => Some(crate::http::web_origin(origin).map_err(|e| {
                ConfigError(format!("{}: public_origin {e}", from.of("public_origin")))
            })?),
        };
        let tls = match (
            raw.tls_cert.as_os_str().is_empty(),
            raw.tls_key.as_os_str().is_empty(),
        ) {
            (true, true) => None,
            (false, false) => Some(TlsFiles {
                cert: base.join(&raw.tls_cert),
                key: base.join(&raw.tls_key),
            }),
            (false, true) => {
                return Err(ConfigError(format!(
                    "{}: tls_cert needs tls_key, the certificate's private key",
                    from.of("tls_key")
                )))
            }
            (true, false) => {
                return Err(ConfigError(format!(
                    "{}: tls_key needs tls_cert, the certificate it belongs to",
                    from.of("tls_cert")
                )))
            }
        };
        let port = int("port", raw.port, 0, 65535)? as u16;
        let http_redirect_port = match int("http_redirect_port", raw.http_redirect_port, 0, 65535)?
        {
            0 => None,
            p if tls.is_none() => {
                return Err(ConfigError(format!(
                    "{}: http_redirect_port = {p} redirects to HTTPS, which needs tls_cert and \
                     tls_key",
                    from.of("http_redirect_port")
                )))
            }
            p if p == i64::from(port) => {
                return Err(ConfigError(format!(
                    "{}: http_redirect_port must differ from port ({port})",
                    from.of("http_redirect_port")
                )))
            }
            p => Some(p as u16),
        };
        let folder = raw.folder_features(base, from)?;
        let server = ServerConfig {
            header_rules: folder.header_rules,
            cors: folder.cors,
            rules: folder.rules,
            auth: folder.auth,
            fallback: folder.fallback,
            error_pages: folder.error_pages,
            archives: raw.archives,
            uploads: folder.uploads,
            metrics: raw.metrics,
            metrics_from: folder.metrics_from,
            trusted_proxies,
            public_origin,
            tls,
            http_redirect_port,
            static_dir: (!raw.static_dir.as_os_str().is_empty()).then(|| base.join(raw.static_dir)),
            document_root: (!raw.document_root.as_os_str().is_empty())
                .then(|| base.join(&raw.document_root)),
            builtin_static: &[],
            never_served: Vec::new(),
            autoindex: raw.autoindex,
            compression: raw.compression,
            autoindex_stylesheet: (!raw.autoindex_stylesheet.is_empty())
                .then_some(raw.autoindex_stylesheet),
            max_connections: NonZeroUsize::new(int(
                "max_connections",
                raw.max_connections,
                1,
                1_000_000,
            )? as usize)
            .expect("checked to be at least 1"),
            max_connections_per_ip: NonZeroUsize::new(int(
                "max_connections_per_ip",
                raw.max_connections_per_ip,
                0,
                1_000_000,
            )? as usize),
            listen_backlog: int("listen_backlog", raw.listen_backlog, 1, 65_535)? as u32,
            header_timeout: secs("header_timeout_secs", raw.header_timeout_secs)?,
            idle_timeout: secs("idle_timeout_secs", raw.idle_timeout_secs)?,
            body_timeout: secs("body_timeout_secs", raw.body_timeout_secs)?,
            body_min_rate: rate("body_min_bytes_per_sec", raw.body_min_bytes_per_sec)?,
            send_timeout: secs("send_timeout_secs", raw.send_timeout_secs)?,
            send_min_rate: rate("send_min_bytes_per_sec", raw.send_min_bytes_per_sec)?,
            linger_timeout: secs("linger_timeout_secs", raw.linger_timeout_secs)?,
            shutdown_grace: secs("shutdown_grace_secs", raw.shutdown_grace_secs)?,
            max_head_bytes: int("max_head_bytes", raw.max_head_bytes, 256, 1 << 20)? as usize,
            max_headers: int(
                "max_headers",
                raw.max_headers,
                1,
                MAX_HEADERS_CEILING as i64,
            )? as usize,
            max_body_bytes: int("max_body_bytes", raw.max_body_bytes, 0, 1 << 40)? as u64,
            body_memory_bytes: int("body_memory_bytes", raw.body_memory_bytes, 1024, 1 << 30)?
                as usize,
            cache_control: raw.cache_control,
            access_log: match raw.access_log.as_str() {
                "-" => AccessLog::Stdout,
                "off" => AccessLog::Off,
                "" => {
                    return Err(ConfigError(format!(
                        "{}: access_log must be \"-\" (standard output), \"off\" or a file",
                        from.of("access_log")
                    )))
                }
                file => AccessLog::File(base.join(file)),
            },
        };
        let secret_keys: Vec<String> = raw
            .secret_key
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if let Some(short) = secret_keys.iter().find(|k| k.len() < 16) {
            return Err(ConfigError(format!(
                "{}: secret_key: a key of {} characters is too easy to guess; use at least 16 \
                 random ones (`head -c 32 /dev/urandom | base64`)",
                from.of("secret_key"),
                short.len()
            )));
        }
        let framework = Settings {
            templates_dir: base.join(raw.templates_dir),
            database: (!raw.database.is_empty()).then(|| Location::parse(&raw.database, base)),
            database_connections: int("database_connections", raw.database_connections, 1, 1000)?
                as usize,
            migrations_dir: base.join(raw.migrations_dir),
            page_cache: raw.page_cache,
            compression: raw.compression,
            server_timing: raw.server_timing,
            dev: raw.dev,
            builtin_templates: &[],
            builtin_migrations: &[],
            secret_keys,
            max_upload_file_bytes: int(
                "max_upload_file_bytes",
                raw.max_upload_file_bytes,
                0,
                1 << 40,
            )? as u64,
            session_max_age: Duration::from_secs(int(
                "session_max_age_secs",
                raw.session_max_age_secs,
                60,
                400 * 86_400,
            )? as u64),
        };
        Ok(Config {
            file: None,
            host: raw.host,
            port,
            server,
            framework,
            log_level: level,
        })
    }
}

/// The settings of the features a folder server is asked for, checked.
struct FolderFeatures {
    header_rules: Vec<HeaderRule>,
    cors: Option<Cors>,
    rules: Rules,
    auth: Option<Arc<BasicAuth>>,
    fallback: Option<String>,
    error_pages: ErrorPageFiles,
    uploads: Option<Uploads>,
    metrics_from: TrustedProxies,
}

impl RawConfig {
    fn folder_features(&self, base: &Path, from: &Origins) -> Result<FolderFeatures, ConfigError> {
        let at = |key: &str, e: String| ConfigError(format!("{}: {key}: {e}", from.of(key)));
        let header_rules = self
            .headers
            .iter()
            .map(|r| {
                let set = r.set.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
                HeaderRule::new(&r.path, set)
            })
            .collect::<Result<_, _>>()
            .map_err(|e| at("headers", e))?;
        let cors = Cors::parse(&self.cors_origins).map_err(|e| at("cors_origins", e))?;
        let redirects = self
            .redirects
            .iter()
            .map(|r| Redirect::new(&r.from, &r.to, r.status))
            .collect::<Result<_, _>>()
            .map_err(|e| at("redirects", e))?;
        let rewrites = self
            .rewrites
            .iter()
            .map(|r| Rewrite::new(&r.from, &r.to))
            .collect::<Result<_, _>>()
            .map_err(|e| at("rewrites", e))?;
        // Redirects and rewrites never lead into each other: each list is checked alone, so
        // that the error names its key.
        let rules = Rules::new(redirects, Vec::new())
            .map_err(|e| at("redirects", e))?
            .with(Vec::new(), rewrites)
            .map_err(|e| at("rewrites", e))?;
        let auth = match self.auth_file.as_os_str().is_empty() {
            true => None,
            false => Some(Arc::new(
                BasicAuth::read(&base.join(&self.auth_file), &self.auth_path)
                    .map_err(|e| at("auth_file", e))?,
            )),
        };
        let fallback = match self.fallback.trim().trim_start_matches('/') {
            "" => None,
            file => Some(format!("/{file}")),
        };
        let page = |p: &PathBuf| (!p.as_os_str().is_empty()).then(|| base.join(p));
        let error_pages = ErrorPageFiles {
            not_found: page(&self.page_404),
            server_error: page(&self.page_50x),
        };
        let uploads = self.upload.then_some(Uploads {
            anyone: self.upload_anyone,
            overwrite: self.upload_overwrite,
            max_bytes: u64::try_from(self.upload_max_bytes)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| at("upload_max_bytes", "must be at least 1".into()))?,
        });
        let metrics_from =
            TrustedProxies::parse(&self.metrics_from).map_err(|e| at("metrics_from", e))?;
        Ok(FolderFeatures {
            header_rules,
            cors,
            rules,
            auth,
            fallback,
            error_pages,
            uploads,
            metrics_from,
        })
    }
}
