//! `config.toml`: what the settings are once read and checked ([`Config`]), before anything
//! binds or opens. How they are read, and each key's default, is in `raw.rs`; relative paths
//! are relative to the folder of the file that names them (the current folder when no file is
//! read).
//!
//! Settings come in layers, each overriding the one before: miniweb's defaults, the
//! app's own defaults (a TOML text it hands to [`crate::Site::defaults`]), the config file,
//! then `MINIWEB_*` environment variables; the command line comes last, in the runner. Each
//! side's settings are then a plain struct of its own (the server's and the framework's), so
//! that neither side depends on the other through the configuration.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use crate::framework::Settings;
use crate::server::ServerConfig;

/// The file looked for in the current folder when `--config` is not given.
pub const DEFAULT_FILE: &str = "config.toml";

pub use super::layers::ENV_PREFIX;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Location;
    use crate::runner::raw::RawConfig;
    use crate::server::AccessLog;

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
    fn folder_features_are_checked_and_named_by_key() {
        let cases = [
            (
                "[[redirects]]\nfrom = \"/a\"\nto = \"/b\"\nstatus = 200\n",
                "redirects",
            ),
            (
                "[[headers]]\npath = \"*.css\"\nset = { \"Content-Length\" = \"1\" }\n",
                "headers",
            ),
            (
                "[[headers]]\npath = \"*.css\"\nset = {}\ncolour = 1\n",
                "colour",
            ),
            ("cors_origins = \"app.example\"\n", "cors_origins"),
            (
                "metrics = true\nmetrics_from = \"not an address\"\n",
                "metrics_from",
            ),
            ("upload = true\nupload_max_bytes = 0\n", "upload_max_bytes"),
            ("headers = \"x\"\n", "headers must be a list of tables"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        let env = |name: &str| (name == "MINIWEB_HEADERS").then(|| "x".to_string());
        let err = Config::parse_layers("", None, &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("list of tables"), "{err}");
        let c = parse(
            "upload = true\nupload_anyone = true\nfallback = \"index.html\"\n\
             [[headers]]\npath = \"*.woff2\"\nset = { \"Cache-Control\" = \"immutable\" }\n\
             [[rewrites]]\nfrom = \"/app/**\"\nto = \"/app/index.html\"\n",
        )
        .unwrap();
        assert!(c.server.uploads.is_some_and(|u| u.anyone && !u.overwrite));
        assert_eq!(c.server.header_rules.len(), 1);
        assert_eq!(c.server.fallback.as_deref(), Some("/index.html"));
        assert!(c.server.rules.has_rewrites());
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
        // Every key is written out in the shipped file, which documents them; a list of
        // tables, empty by default, by an example in a comment (`#   [[headers]]`), since a
        // `headers = []` would stop a user's own `[[headers]]` below it.
        let keys = toml::to_string(&RawConfig::default()).unwrap();
        for line in keys.lines().filter(|l| l.contains(" = ")) {
            let (key, value) = line.split_once(" = ").unwrap();
            let written = match value {
                "[]" => format!("#   [[{key}]]"),
                _ => format!("{key} = "),
            };
            assert!(
                text.lines().any(|l| l.starts_with(&written)),
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
