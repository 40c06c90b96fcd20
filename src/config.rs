//! `config.toml`: every default in one file, validated before anything binds or opens.
//! Relative paths are relative to the folder of the file that names them.
//!
//! Only `main` reads this module: it turns the file into the server's settings and the
//! framework's settings, each a plain struct owned by its side, so that neither side depends
//! on the other through the configuration.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::builtin;
use crate::framework::{Location, Settings};
use crate::server::forwarded::TrustedProxies;
use crate::server::{AccessLog, ServerConfig, TlsFiles, MAX_HEADERS_CEILING};

/// The file looked for in the current folder when `--config` is not given.
pub const DEFAULT_FILE: &str = "config.toml";

/// Every key can also be set by an environment variable: this prefix, then the key in upper
/// case (`MINIWEB_PORT`, `MINIWEB_ACCESS_LOG`). The environment wins over the file.
pub const ENV_PREFIX: &str = "MINIWEB_";

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

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            host: "localhost".into(),
            port: 8080,
            static_dir: "static".into(),
            document_root: PathBuf::new(),
            autoindex: false,
            autoindex_stylesheet: "/css/site.css".into(),
            templates_dir: "templates".into(),
            database: "stock.db".into(),
            migrations_dir: "migrations".into(),
            max_connections: 1024,
            max_connections_per_ip: 0,
            trusted_proxies: String::new(),
            public_origin: String::new(),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            http_redirect_port: 0,
            listen_backlog: 1024,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            body_timeout_secs: 10,
            body_min_bytes_per_sec: 500,
            send_timeout_secs: 30,
            send_min_bytes_per_sec: 1024,
            linger_timeout_secs: 2,
            shutdown_grace_secs: 10,
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            max_body_bytes: 1024 * 1024,
            cache_control: "public, max-age=300".into(),
            page_cache: true,
            compression: true,
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
    /// Loads `path`, or `config.toml` in the current folder if it exists, or the built-in
    /// defaults (relative to the current folder); then `MINIWEB_*` environment variables
    /// override what they name.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let (file, must_exist) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_FILE), false),
        };
        match std::fs::read_to_string(&file) {
            Ok(text) => Config::parse_with_env(&text, &file, &env),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                let here = std::env::current_dir()
                    .map_err(|e| ConfigError(format!("current folder: {e}")))?;
                let raw = with_env(RawConfig::default(), &env)?;
                Config::validate(raw.0, &here, &Sources::new("built-in defaults", raw.1))
            }
            Err(e) => Err(ConfigError(format!("{}: {e}", file.display()))),
        }
    }

    /// Parses the text of a config file found at `file`, with no environment.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        Config::parse_with_env(text, file, &|_| None)
    }

    /// Parses the text of a config file found at `file`; `env` looks up `MINIWEB_*` variables.
    pub fn parse_with_env(
        text: &str,
        file: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let name = file.display().to_string();
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| ConfigError(format!("{name}: {}", e.to_string().trim_end())))?;
        let (raw, from_env) = with_env(raw, env)?;
        let base = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = base
            .canonicalize()
            .map_err(|e| ConfigError(format!("{name}: folder {}: {e}", base.display())))?;
        Config::validate(raw, &base, &Sources::new(&name, from_env))
    }

    fn validate(raw: RawConfig, base: &Path, from: &Sources) -> Result<Config, ConfigError> {
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
            static_dir: base.join(raw.static_dir),
            document_root: (!raw.document_root.as_os_str().is_empty())
                .then(|| base.join(&raw.document_root)),
            builtin_static: builtin::STATIC,
            autoindex: raw.autoindex,
            compression: raw.compression,
            autoindex_stylesheet: (!raw.autoindex_stylesheet.is_empty())
                .then_some(raw.autoindex_stylesheet),
            max_connections: int("max_connections", raw.max_connections, 1, 1_000_000)? as usize,
            max_connections_per_ip: int(
                "max_connections_per_ip",
                raw.max_connections_per_ip,
                0,
                1_000_000,
            )? as usize,
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
            database: Location::parse(&raw.database, base),
            migrations_dir: base.join(raw.migrations_dir),
            page_cache: raw.page_cache,
            compression: raw.compression,
            server_timing: raw.server_timing,
            dev: raw.dev,
            builtin_templates: builtin::TEMPLATES,
            builtin_migrations: builtin::MIGRATIONS,
        };
        Ok(Config {
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

/// Where each setting came from, so that a message names the file or the variable at fault.
struct Sources {
    file: String,
    from_env: Vec<String>,
}

impl Sources {
    fn new(file: &str, from_env: Vec<String>) -> Sources {
        Sources {
            file: file.to_string(),
            from_env,
        }
    }

    /// The file's name, or the environment variable's when it set `key`.
    fn of(&self, key: &str) -> String {
        if self.from_env.iter().any(|k| k == key) {
            format!("environment variable {}", env_name(key))
        } else {
            self.file.clone()
        }
    }
}

/// `origin` if it is a web origin, `http://` or `https://` then a host and perhaps a port,
/// with nothing after (as a browser's `Origin` header says it); lower-cased.
fn check_origin(origin: &str) -> Result<String, String> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or_else(|| format!("must start with http:// or https://, got {origin:?}"))?;
    let ok = |c: char| c.is_ascii_alphanumeric() || "-.:[]".contains(c);
    if rest.is_empty() || !rest.chars().all(ok) {
        return Err(format!(
            "must be a scheme and a host, with a port if any and no path, got {origin:?}"
        ));
    }
    Ok(origin.to_ascii_lowercase())
}

/// `port` -> `MINIWEB_PORT`.
fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// `raw` with every key that a `MINIWEB_*` variable sets replaced by the variable's value,
/// read as the key's type; and the keys so set.
fn with_env(
    raw: RawConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(RawConfig, Vec<String>), ConfigError> {
    let mut table = toml::Table::try_from(&raw).expect("settings serialise to a table");
    let mut from_env = Vec::new();
    for (key, value) in table.iter_mut() {
        let var = env_name(key);
        let Some(text) = env(&var) else { continue };
        let bad = |what: &str| {
            ConfigError(format!(
                "environment variable {var}: {key} must be {what}, got {text:?}"
            ))
        };
        *value = match value {
            toml::Value::Integer(_) => {
                toml::Value::Integer(text.trim().parse().map_err(|_| bad("a whole number"))?)
            }
            toml::Value::Boolean(_) => toml::Value::Boolean(match text.trim() {
                "true" => true,
                "false" => false,
                _ => return Err(bad("true or false")),
            }),
            _ => toml::Value::String(text.clone()),
        };
        from_env.push(key.clone());
    }
    if from_env.is_empty() {
        return Ok((raw, from_env));
    }
    let raw = table
        .try_into()
        .map_err(|e| ConfigError(format!("environment: {e}")))?;
    Ok((raw, from_env))
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
        assert!(c.server.static_dir.is_absolute());
        assert!(c.server.static_dir.ends_with("static"));
    }

    #[test]
    fn the_shipped_config_is_valid_and_matches_the_defaults() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
        let text = std::fs::read_to_string(&shipped).unwrap();
        let c = Config::parse(&text, &shipped).unwrap();
        // The defaults, as if the file were empty and lay where the shipped one does.
        let d = Config::parse("", &shipped).unwrap();
        assert_eq!(c, d, "config.toml and RawConfig::default() disagree");
        assert_eq!(
            c.server.static_dir,
            Path::new(env!("CARGO_MANIFEST_DIR")).join("static")
        );
        // Every key of the defaults is written out in the shipped file.
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
            ("colour = \"red\"", "unknown field `colour`"),
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
        let c = Config::parse_with_env("port = 9000\nhost = \"localhost\"", &file, &vars).unwrap();
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
            let err = Config::parse_with_env("", &file, &env(vars))
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
            dir.path().canonicalize().unwrap().join("www")
        );
        assert_eq!(
            c.framework.database,
            Location::Sqlite(PathBuf::from("/abs/x.db"))
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
