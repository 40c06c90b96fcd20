//! `config.toml`: every setting's library default in one place, validated before anything binds
//! or opens. Relative paths are relative to the folder of the file that names them (the
//! current folder when no file is read).
//!
//! Settings come in layers, each overriding the one before: miniweb's defaults (here), the
//! app's own defaults (a TOML text it hands to [`crate::Site::defaults`]), the config file,
//! then `MINIWEB_*` environment variables; the command line comes last, in the runner. Each
//! side's settings are then a plain struct of its own (the server's and the framework's), so
//! that neither side depends on the other through the configuration.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::framework::{Location, Settings};
use crate::server::forwarded::TrustedProxies;
use crate::server::{AccessLog, ServerConfig, TlsFiles, MAX_HEADERS_CEILING};

/// The file looked for in the current folder when `--config` is not given.
pub const DEFAULT_FILE: &str = "config.toml";

pub use super::layers::ENV_PREFIX;
use super::layers::{overlay, with_env, Origins};

/// Which files [`Config::load`] reads, and what lies under them.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// `--config FILE`: read it, and it must exist.
    pub file: Option<&'a Path>,
    /// Whether `config.toml` in the current folder is read when `file` is `None`.
    pub default_file: bool,
    /// The app's own defaults, as TOML text with keys of the config file.
    pub app_defaults: &'a str,
}

/// The settings as written in the file; every field has a default, unknown keys are errors.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    host: String,
    port: i64,
    static_dir: PathBuf,
    document_root: PathBuf,
    autoindex: bool,
    autoindex_stylesheet: String,
    templates_dir: PathBuf,
    database: String,
    database_connections: i64,
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
    cache_control: String,
    page_cache: bool,
    compression: bool,
    server_timing: bool,
    dev: bool,
    log_level: String,
    access_log: String,
}

/// The server's keys take their defaults from the server itself (`ServerConfig::default`),
/// so that each default is written once; the framework's and the runner's are here.
impl Default for RawConfig {
    fn default() -> Self {
        let server = ServerConfig::default();
        let secs = |d: Duration| d.as_secs() as i64;
        let int = |n: usize| n as i64;
        RawConfig {
            host: "localhost".into(),
            port: 8080,
            static_dir: server.static_dir.unwrap_or_default(),
            document_root: server.document_root.unwrap_or_default(),
            autoindex: server.autoindex,
            autoindex_stylesheet: server.autoindex_stylesheet.unwrap_or_default(),
            templates_dir: "templates".into(),
            database: String::new(),
            database_connections: 8,
            migrations_dir: "migrations".into(),
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
            cache_control: server.cache_control,
            page_cache: true,
            compression: server.compression,
            server_timing: true,
            dev: false,
            log_level: "info".into(),
            access_log: "-".into(),
        }
    }
}

/// Validated settings, with paths made absolute: where to listen, the server's settings, the
/// framework's settings, and the log level. Each side's settings are its own plain struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The config file read, if any: never served, even from inside a served folder.
    pub file: Option<PathBuf>,
    /// `localhost` (both loopbacks), an IP address, or a host name to resolve.
    pub host: String,
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// What the server needs.
    pub server: ServerConfig,
    /// What the framework needs.
    pub framework: Settings,
    /// Default log level when `RUST_LOG` is not set.
    pub log_level: String,
}

/// A configuration that cannot be used; the message names the file and the key.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

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
        let mut config = Config::validate(raw, &base, &origins)?;
        if let Some((_, path)) = file {
            config.file = Some(base.join(path.file_name().unwrap_or(path.as_os_str())));
        }
        Ok(config)
    }

    fn validate(raw: RawConfig, base: &Path, from: &Origins) -> Result<Config, ConfigError> {
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
            origin => Some(check_origin(origin).map_err(|e| {
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
        let server = ServerConfig {
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

    /// The addresses to listen on: both loopbacks for `localhost`, else exactly `host`.
    pub fn listen_addrs(&self) -> Result<Vec<SocketAddr>, ConfigError> {
        if self.host.eq_ignore_ascii_case("localhost") {
            return Ok(vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.port),
            ]);
        }
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, self.port)]);
        }
        let addrs: Vec<SocketAddr> = (host, self.port)
            .to_socket_addrs()
            .map_err(|e| ConfigError(format!("host {:?}: {e}", self.host)))?
            .take(1)
            .collect();
        if addrs.is_empty() {
            return Err(ConfigError(format!("host {:?} has no address", self.host)));
        }
        Ok(addrs)
    }
}

/// `origin` if it is a web origin, `http://` or `https://` then a host and perhaps a port,
/// with nothing after (as a browser's `Origin` header says it); lower-cased.
fn check_origin(origin: &str) -> Result<String, String> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or_else(|| format!("must start with http:// or https://, got {origin:?}"))?;
    if crate::http::Authority::parse(rest).is_none() {
        return Err(format!(
            "must be a scheme and a host, with a port if any and no path, got {origin:?}"
        ));
    }
    Ok(origin.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir();
        Config::parse(text, &dir.join("test-config.toml"))
    }

    #[test]
    fn empty_file_means_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(c.host, "localhost");
        let static_dir = c.server.static_dir.unwrap();
        assert!(static_dir.is_absolute());
        assert!(static_dir.ends_with("static"));
        assert_eq!(
            c.framework.database, None,
            "no database unless one is named"
        );
        assert_eq!(c.server.autoindex_stylesheet, None);
    }

    #[test]
    fn layers_override_in_order_and_errors_name_the_layer() {
        let file = std::env::temp_dir().join("test-config.toml");
        let app = "port = 9000\ndatabase = \"app.db\"\nlog_level = \"warn\"";
        let env = |name: &str| (name == "MINIWEB_LOG_LEVEL").then(|| "debug".to_string());
        let c = Config::parse_layers(app, Some(("port = 9001", &file)), &env).unwrap();
        assert_eq!(c.port, 9001, "the file wins over the app's defaults");
        assert_eq!(c.log_level, "debug", "the environment wins over both");
        assert!(
            matches!(&c.framework.database, Some(Location::Sqlite(p)) if p.ends_with("app.db"))
        );
        let err = Config::parse_layers("port = 70000", Some(("", &file)), &|_| None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the app's defaults: port must be"),
            "{err}"
        );
        let err = Config::parse_layers("colour = 1", None, &|_| None).unwrap_err();
        assert!(
            err.to_string()
                .contains("the app's defaults: unknown key `colour`"),
            "{err}"
        );
    }

    #[test]
    fn the_stock_sites_config_is_valid_and_sets_every_key() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
        let text = std::fs::read_to_string(&shipped).unwrap();
        let c = Config::parse(&text, &shipped).unwrap();
        assert_eq!(
            c.server.static_dir,
            Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("static"))
        );
        // Every key is written out in the shipped file, which documents them.
        let keys = toml::to_string(&RawConfig::default()).unwrap();
        for line in keys.lines().filter(|l| l.contains(" = ")) {
            let key = line.split(" = ").next().unwrap();
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{key} = "))),
                "config.toml does not set {key}"
            );
        }
    }

    #[test]
    fn the_server_defaults_are_the_config_defaults() {
        let from_file = parse("").unwrap().server;
        let built_in = ServerConfig {
            static_dir: from_file.static_dir.clone(),
            builtin_static: from_file.builtin_static,
            autoindex_stylesheet: from_file.autoindex_stylesheet.clone(),
            ..ServerConfig::default()
        };
        assert_eq!(from_file, built_in);
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let cases = [
            ("port = 70000", "port must be 0-65535, got 70000"),
            ("port = -1", "port must be"),
            ("port = \"abc\"", "port"),
            ("colour = \"red\"", "unknown key `colour`"),
            ("max_connections = 0", "max_connections must be"),
            ("header_timeout_secs = 0", "header_timeout_secs must be"),
            ("send_timeout_secs = 0", "send_timeout_secs must be"),
            (
                "body_min_bytes_per_sec = -1",
                "body_min_bytes_per_sec must be",
            ),
            ("listen_backlog = 0", "listen_backlog must be"),
            ("access_log = \"\"", "access_log must be"),
            (
                "max_connections_per_ip = -1",
                "max_connections_per_ip must be",
            ),
            ("max_headers = 100000", "max_headers must be"),
            ("log_level = \"loud\"", "log_level must be one of"),
            ("host = \"\"", "host must not be empty"),
            ("port = ", "test-config.toml"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains("test-config.toml"), "{text}: {err}");
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn environment_variables_override_the_file_and_are_named_in_errors() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let file = std::env::temp_dir().join("test-config.toml");
        let vars = env(&[
            ("MINIWEB_PORT", "9100"),
            ("MINIWEB_PAGE_CACHE", "false"),
            ("MINIWEB_HOST", "0.0.0.0"),
            ("MINIWEB_ACCESS_LOG", "off"),
            ("OTHER_PORT", "1"),
        ]);
        let c = Config::parse_layers(
            "",
            Some(("port = 9000\nhost = \"localhost\"", &file)),
            &vars,
        )
        .unwrap();
        assert_eq!(c.port, 9100, "the environment wins over the file");
        assert_eq!(c.host, "0.0.0.0");
        assert!(!c.framework.page_cache);
        assert_eq!(c.server.access_log, AccessLog::Off);
        assert_eq!(
            c.log_level, "info",
            "keys without a variable keep the file's value"
        );
        let cases: [(&'static [(&'static str, &'static str)], &str); 3] = [
            (
                &[("MINIWEB_PORT", "70000")],
                "environment variable MINIWEB_PORT: port must be 0-65535, got 70000",
            ),
            (
                &[("MINIWEB_PORT", "eighty")],
                "environment variable MINIWEB_PORT: port must be a whole number, got \"eighty\"",
            ),
            (
                &[("MINIWEB_PAGE_CACHE", "yes")],
                "MINIWEB_PAGE_CACHE: page_cache must be true or false",
            ),
        ];
        for (vars, want) in cases {
            let err = Config::parse_layers("", Some(("", &file)), &env(vars))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("site.toml");
        let c = Config::parse("static_dir = \"www\"\ndatabase = \"/abs/x.db\"", &file).unwrap();
        assert_eq!(
            c.server.static_dir,
            Some(dir.path().canonicalize().unwrap().join("www"))
        );
        assert_eq!(
            c.framework.database,
            Some(Location::Sqlite(PathBuf::from("/abs/x.db")))
        );
    }

    #[test]
    fn localhost_means_both_loopbacks() {
        let c = parse("port = 9").unwrap();
        let addrs = c.listen_addrs().unwrap();
        assert_eq!(addrs.len(), 2);
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
        let c = parse("host = \"127.0.0.1\"").unwrap();
        assert_eq!(c.listen_addrs().unwrap().len(), 1);
    }
}
