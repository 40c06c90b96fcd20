//! The command line every app run by [`crate::Site::run`] understands.

use std::path::PathBuf;

/// `--help`: `{name}` stands for the program's name.
pub(super) const USAGE: &str = "\
usage: {name} [PORT] [--bind ADDR] [--config FILE] [--dev] [--autoindex] [--routes] [FEATURES]
       {name} [PORT] -d DIR [--bind ADDR] [--config FILE] [--autoindex] [FEATURES]
       {name} --hash-password | --version | --help

  PORT           TCP port to listen on (0-65535; 0 picks a free one); default from the config
  -d, --directory DIR
                 serve DIR alone, as python3 -m http.server -d DIR does: no routes, no
                 database, nothing of the site, and no config file unless --config names one
  --autoindex    list folders that have no index.html (HTML, or JSON for
                 Accept: application/json)
  --dev          dev mode, for working on the site (never in production): templates
                 reloaded when they change, no page cache, error pages that show the cause
                 and a 404 that lists the routes and why each did not match
  --bind ADDR    address to listen on: localhost (both loopbacks), an IP such as 0.0.0.0, or a
                 host name; default from the config
  --config FILE  settings file; default ./config.toml if present, else built-in defaults
  --routes       print how requests are dispatched, the route table, and routes a static
                 file shadows, then exit
  --hash-password
                 read a password on standard input and print its bcrypt hash, for a line
                 user:HASH of --auth-file
  --version      print the version and exit
  --help         print this help and exit

FEATURES, each off until asked for (config.toml has a key for each, named after the = sign):
  --header \"NAME: VALUE\"
                 set this header on every answer below 400 (repeatable); by path with
                 [[headers]] path = \"*.woff2\" in the config      = [[headers]]
  --cors ORIGINS allow these origins (https://app.example, comma-separated, or *) to read
                 answers from their pages; preflights answered     = cors_origins
  --redirect \"FROM TO [STATUS]\"
                 redirect the paths of the glob FROM (* a segment, ** any, $1 in TO for
                 what the first matched) to TO with STATUS (302 unless given; 301, 303,
                 307, 308); repeatable                             = [[redirects]]
  --rewrite \"FROM TO\"
                 serve the path TO in place of the paths of FROM   = [[rewrites]]
  --auth-file FILE
                 basic auth: users as user:bcrypt-hash lines (htpasswd -nB)  = auth_file
  --auth-path PREFIX
                 only the paths under PREFIX need a user (default /)       = auth_path
  --spa          serve /index.html for a page path with nothing behind it (a GET that
                 accepts HTML, no extension); missing assets stay 404      = fallback
  --error-pages  the folder's 404.html and 50x.html in place of the server's own pages
                                                                   = page_404, page_50x
  --archives     a listed folder downloads as ?download=tar.gz or ?download=zip = archives
  --upload       PUT and the listing's form upload into the folder, for signed-in users
                 (--auth-file), within upload_max_bytes (1 GiB)    = upload
  --upload-anyone
                 uploads need no user                              = upload_anyone
  --overwrite    an upload may replace a file                      = upload_overwrite
  --metrics      GET /metrics in Prometheus's format, from metrics_from (loopback) = metrics
  Listings sort by ?sort=name|size|modified&order=asc|desc (links in the header).

Files first: a path that names a file of the static folder (or of DIR) is served as that
file; every other request goes to the site's routes. Dotfiles and dot folders are never
served (except /.well-known/), nor are SQLite files (*.db, *.sqlite and their -wal, -shm),
the database and the config file.

Every setting of the config file can also be given as an environment variable, MINIWEB_ and
the key in upper case: MINIWEB_PORT=9000, MINIWEB_ACCESS_LOG=off. Precedence: the command
line, then the environment, then the config file, then the built-in defaults.

Signals: SIGINT and SIGTERM stop gracefully (requests in flight finish); SIGHUP rereads
tls_cert and tls_key.

Logging: RUST_LOG (e.g. RUST_LOG=debug) overrides log_level for the diagnostic log (standard
error); the access log goes to standard output unless access_log in the config says otherwise.

Exit codes: 0 after a clean stop, 1 when it cannot start, 2 for a wrong command line.";

/// What the command line asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Args {
    pub port: Option<u16>,
    pub bind: Option<String>,
    /// `-d DIR`: serve this folder alone.
    pub directory: Option<PathBuf>,
    pub autoindex: bool,
    pub dev: bool,
    pub version: bool,
    pub config: Option<PathBuf>,
    pub routes: bool,
    pub help: bool,
    pub hash_password: bool,
    /// The features, as given.
    pub features: Features,
}

/// The command line's part of the features a folder server is asked for; each adds to what
/// the config says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Features {
    pub headers: Vec<String>,
    pub cors: Option<String>,
    pub redirects: Vec<Vec<String>>,
    pub rewrites: Vec<Vec<String>>,
    pub auth_file: Option<PathBuf>,
    pub auth_path: Option<String>,
    pub spa: bool,
    pub error_pages: bool,
    pub archives: bool,
    pub upload: bool,
    pub upload_anyone: bool,
    pub overwrite: bool,
    pub metrics: bool,
}

/// The arguments after the program's name; `Err` says what is wrong, in one line.
pub(super) fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            match inline {
                Some(v) => Ok(v.to_string()),
                None => it.next().ok_or_else(|| format!("{flag} needs {what}")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => out.help = true,
            "--routes" => out.routes = true,
            "--autoindex" => out.autoindex = true,
            "--hash-password" => out.hash_password = true,
            "--header" => out.features.headers.push(value("\"Name: value\"")?),
            "--cors" => out.features.cors = Some(value("origins")?),
            "--redirect" | "--rewrite" => {
                let line = value("\"FROM TO\"")?;
                let words = crate::server::redirects::words(&flag, &line)?;
                match flag.as_str() {
                    "--redirect" => out.features.redirects.push(words),
                    _ => out.features.rewrites.push(words),
                }
            }
            "--auth-file" => out.features.auth_file = Some(PathBuf::from(value("a file")?)),
            "--auth-path" => out.features.auth_path = Some(value("a path")?),
            "--spa" => out.features.spa = true,
            "--error-pages" => out.features.error_pages = true,
            "--archives" => out.features.archives = true,
            "--upload" => out.features.upload = true,
            "--upload-anyone" => out.features.upload_anyone = true,
            "--overwrite" => out.features.overwrite = true,
            "--metrics" => out.features.metrics = true,
            "--dev" => out.dev = true,
            "-V" | "--version" => out.version = true,
            "--bind" => {
                let bind = value("an address")?;
                if bind.trim().is_empty() {
                    return Err("--bind needs an address".into());
                }
                out.bind = Some(bind);
            }
            "-d" | "--directory" => out.directory = Some(PathBuf::from(value("a folder")?)),
            "--config" => out.config = Some(PathBuf::from(value("a file name")?)),
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            s => {
                if out.port.is_some() {
                    return Err(format!("unexpected argument {s:?}"));
                }
                let port = s
                    .parse::<u16>()
                    .map_err(|_| format!("invalid port {s:?}: must be a number from 0 to 65535"))?;
                out.port = Some(port);
            }
        }
    }
    if out.directory.is_some() && (out.dev || out.routes) {
        let flag = if out.dev { "--dev" } else { "--routes" };
        return Err(format!(
            "{flag} is about a site's routes, and -d serves a folder alone"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(String::from))
    }

    #[test]
    fn flags_take_values_apart_or_after_an_equals_sign() {
        let a = args("8080 -d www --bind=0.0.0.0 --config site.toml --autoindex").unwrap();
        assert_eq!(a.port, Some(8080));
        assert_eq!(a.directory, Some(PathBuf::from("www")));
        assert_eq!(a.bind.as_deref(), Some("0.0.0.0"));
        assert_eq!(a.config, Some(PathBuf::from("site.toml")));
        assert!(a.autoindex);
        assert_eq!(args("--directory=x").unwrap().directory, Some("x".into()));
        assert_eq!(args("").unwrap(), Args::default());
    }

    #[test]
    fn feature_flags_gather_and_check_their_words() {
        let line = [
            "--header",
            "X-A: 1",
            "--header",
            "X-B: 2",
            "--redirect",
            "/a /b 301",
            "--rewrite",
            "/c /d",
            "--spa",
            "--upload",
            "--metrics",
            "--cors=*",
        ];
        let a = parse(line.map(String::from)).unwrap();
        assert_eq!(a.features.headers, ["X-A: 1", "X-B: 2"]);
        assert_eq!(a.features.redirects, [["/a", "/b", "301"]]);
        assert_eq!(a.features.rewrites, [["/c", "/d"]]);
        assert_eq!(a.features.cors.as_deref(), Some("*"));
        assert!(a.features.spa && a.features.upload && a.features.metrics);
        for bad in [["--redirect", "/a"], ["--rewrite", "/a /b 301"]] {
            assert!(parse(bad.map(String::from)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mistakes_are_one_line_each() {
        let cases = [
            ("70000", "invalid port \"70000\""),
            ("80 81", "unexpected argument \"81\""),
            ("--colour", "unknown option --colour"),
            ("-d", "-d needs a folder"),
            ("--bind", "--bind needs an address"),
            ("--bind=", "--bind needs an address"),
            ("-d . --dev", "--dev is about a site's routes"),
            ("-d . --routes", "--routes is about a site's routes"),
        ];
        for (line, want) in cases {
            let err = args(line).unwrap_err();
            assert!(err.contains(want), "{line}: {err}");
        }
    }
}
