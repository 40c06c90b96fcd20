//! The runner: what every app's `main` needs, in one call. The command line, `config.toml`
//! with `MINIWEB_*` variables, the logger (`RUST_LOG`), graceful SIGINT/SIGTERM, SIGHUP's TLS
//! reload, start-up errors as sentences, and the exit codes. It also serves a folder alone
//! (`-d DIR`), with no app at all.
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     miniweb::run()
//! }
//! ```

mod args;
pub mod config;
mod layers;
mod raw;
mod signals;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::framework::hooks::{self, Hooks};
use crate::framework::{Framework, Location, Mount, Router};
use crate::http::App;
use crate::server::basic_auth::BasicAuth;
use crate::server::cors::Cors;
use crate::server::header_rules::HeaderRule;
use crate::server::redirects::{Redirect, Rewrite};
use crate::server::Uploads;
use crate::server::{BindError, FilesOnly, Server, ServerConfig};
use args::{Args, Features};
use config::{Config, ConfigError, Sources};

/// Files compiled into a binary, as (path relative to their folder with `/`, bytes): what
/// `include_bytes!` gives, one pair a file.
pub type Files = &'static [(&'static str, &'static [u8])];

/// An app to run: its routes (every `#[route]` linked into the program, some of them under a
/// prefix), the hooks around them, its defaults and the files it carries. [`Site::run`] runs
/// it; [`Site::framework`] builds it for a test client.
#[derive(Debug, Clone)]
pub struct Site {
    name: Option<&'static str>,
    version: Option<&'static str>,
    defaults: &'static str,
    templates: Files,
    migrations: Files,
    static_files: Files,
    mounts: Vec<Mount>,
    hooks: Hooks,
}

/// Runs this program's routes with miniweb's defaults: `Site::new().run()`.
pub fn run() -> ExitCode {
    Site::new().run()
}

impl Default for Site {
    fn default() -> Self {
        Site::new()
    }
}

impl Site {
    /// An app with miniweb's defaults: `templates/`, `migrations/` and `static/` beside the
    /// config file (or in the current folder) when they exist, no database unless the config
    /// names one.
    pub const fn new() -> Site {
        Site {
            name: None,
            version: None,
            defaults: "",
            templates: &[],
            migrations: &[],
            static_files: &[],
            mounts: Vec::new(),
            hooks: Hooks::new(),
        }
    }

    /// The routes of `module` (`module_path!()` inside it) and its submodules under `prefix`:
    /// `.mount("/admin", "notes::admin")` puts its `#[route("/")]` at `/admin/`.
    pub fn mount(mut self, prefix: &'static str, module: &'static str) -> Site {
        self.mounts.push(Mount { prefix, module });
        self
    }

    /// `hook` runs before the routes under `prefix` (`/` for every request), and may answer
    /// instead of them: a login check, say. Hooks run in the order they were added.
    pub fn before(mut self, prefix: &str, hook: hooks::Before) -> Site {
        self.hooks = self.hooks.before(prefix, hook);
        self
    }

    /// `hook` sees every response the app gives, and may change it (add a header, say).
    pub fn after(mut self, hook: hooks::After) -> Site {
        self.hooks = self.hooks.after(hook);
        self
    }

    /// `handler` renders the app's page for `status` (a 404 for every path no route
    /// matches, a 500 after a panic, ...).
    pub fn on_error(mut self, status: u16, handler: hooks::OnError) -> Site {
        self.hooks = self.hooks.on_error(status, handler);
        self
    }

    /// The app as [`Site::run`] would serve it, for tests without a socket
    /// ([`crate::test_client::Client`]): miniweb's defaults, then the app's, then `settings`
    /// (TOML, e.g. `database = "/tmp/t/site.db"`), with no config file and no environment.
    /// Relative paths are relative to the current folder.
    pub fn framework(&self, settings: &str) -> Result<Framework, Box<dyn std::error::Error>> {
        // The test's settings stand where a config file would, in the current folder.
        let file = Path::new("settings given to Site::framework");
        let mut config = Config::parse_layers(self.defaults, Some((settings, file)), &|_| None)?;
        config.framework.builtin_templates = self.templates;
        config.framework.builtin_migrations = self.migrations;
        let router = Router::collect_mounted(&self.mounts)?;
        Ok(Framework::from_settings(router, &config.framework)?.with_hooks(self.hooks.clone()))
    }

    /// The name and version `--version` and `--help` show (`env!("CARGO_PKG_NAME")`,
    /// `env!("CARGO_PKG_VERSION")`); by default the program's file name and miniweb's version.
    pub const fn named(mut self, name: &'static str, version: &'static str) -> Site {
        self.name = Some(name);
        self.version = Some(version);
        self
    }

    /// The app's own defaults, as the text of a config file (`database = "site.db"`): they
    /// stand under the config file and the environment, over miniweb's own.
    pub const fn defaults(mut self, toml: &'static str) -> Site {
        self.defaults = toml;
        self
    }

    /// Templates compiled into the binary, used when `templates_dir` does not exist.
    pub const fn builtin_templates(mut self, files: Files) -> Site {
        self.templates = files;
        self
    }

    /// Migrations compiled into the binary, used when `migrations_dir` does not exist.
    pub const fn builtin_migrations(mut self, files: Files) -> Site {
        self.migrations = files;
        self
    }

    /// Static files compiled into the binary, served when `static_dir` does not exist.
    pub const fn builtin_static(mut self, files: Files) -> Site {
        self.static_files = files;
        self
    }

    /// Runs the app as the command line says (see `--help`), until SIGINT or SIGTERM. Exit
    /// codes: 0 after a clean stop, 1 when it cannot start (the reason on standard error), 2
    /// for a wrong command line.
    pub fn run(self) -> ExitCode {
        let name = self.name.map_or_else(program_name, str::to_string);
        let usage = args::USAGE.replace("{name}", &name);
        let args = match args::parse(std::env::args().skip(1)) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("{name}: {e}\n{usage}");
                return ExitCode::from(2);
            }
        };
        if args.help {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        if args.hash_password {
            return hash_password(&name);
        }
        if args.version {
            match self.version {
                Some(v) => println!("{name} {v}"),
                None => println!("{name} (miniweb {})", env!("CARGO_PKG_VERSION")),
            }
            return ExitCode::SUCCESS;
        }
        let ran = match &args.directory {
            Some(dir) => serve_folder(dir, &args),
            None => self.serve_site(&args),
        };
        match ran {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name}: {e}");
                ExitCode::from(1)
            }
        }
    }

    /// The app, as configured.
    fn serve_site(&self, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
        let mut config = Config::load(Sources {
            file: args.config.as_deref(),
            default_file: true,
            app_defaults: self.defaults,
        })?;
        apply_args(&mut config, args)?;
        config.server.builtin_static = self.static_files;
        config.framework.builtin_templates = self.templates;
        config.framework.builtin_migrations = self.migrations;
        config.server.never_served = never_served(&config);
        let router = Router::collect_mounted(&self.mounts)?;
        let shadowed = shadowed_routes(&router, &config.server)?;
        if args.routes {
            print!("{}", routes_page(&router, &config.server, &shadowed));
            return Ok(());
        }
        start_logger(&config.log_level);
        if let Some(file) = &config.file {
            log::info!("config: {}", file.display());
        }
        for warning in &shadowed {
            log::warn!("{warning}");
        }
        if config.framework.dev {
            log::warn!(
                "dev mode: templates reloaded when they change, no page cache, error pages show \
                 their cause and list the routes; never use it in production"
            );
        }
        let addrs = config.listen_addrs()?;
        // Everything that can fail on a file fails here, before the socket is bound.
        let framework = Framework::from_settings(router, &config.framework)?;
        let framework = Arc::new(framework.with_hooks(self.hooks.clone()));
        serve(&addrs, config.server, framework.clone())?;
        framework.close();
        Ok(())
    }
}

/// `-d DIR`: the folder alone, with the server's own pages, and a config file only if
/// `--config` names one.
fn serve_folder(dir: &Path, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::load(Sources {
        file: args.config.as_deref(),
        default_file: false,
        app_defaults: "",
    })?;
    // Relative to where the command runs, as for `python3 -m http.server -d DIR`.
    config.server.document_root = Some(std::env::current_dir()?.join(dir));
    config.server.static_dir = None;
    apply_args(&mut config, args)?;
    config.server.never_served = never_served(&config);
    start_logger(&config.log_level);
    log::info!("serving {} alone: no routes, no database", dir.display());
    let addrs = config.listen_addrs()?;
    serve(&addrs, config.server, Arc::new(FilesOnly))
}

/// What the command line says over the config; `Err` for a feature it cannot use.
fn apply_args(config: &mut Config, args: &Args) -> Result<(), ConfigError> {
    if let Some(port) = args.port {
        config.port = port;
    }
    if let Some(bind) = &args.bind {
        config.host = bind.clone();
    }
    if args.autoindex {
        config.server.autoindex = true;
    }
    if args.dev {
        config.framework.dev = true;
    }
    apply_features(&mut config.server, &args.features).map_err(ConfigError)?;
    let server = &config.server;
    if let Some(up) = &server.uploads {
        if server.auth.is_none() && !up.anyone {
            return Err(ConfigError(
                "uploads need signed-in users: give --auth-file (auth_file), or say \
                 --upload-anyone (upload_anyone = true) if anyone may write into the folder"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// The command line's features, added to the config's. Paths are relative to the current
/// folder, as the command line's always are.
fn apply_features(server: &mut ServerConfig, f: &Features) -> Result<(), String> {
    for line in &f.headers {
        server.header_rules.push(HeaderRule::from_flag(line)?);
    }
    if let Some(origins) = &f.cors {
        server.cors = Cors::parse(origins).map_err(|e| format!("--cors: {e}"))?;
    }
    if !f.redirects.is_empty() || !f.rewrites.is_empty() {
        let redirects = f
            .redirects
            .iter()
            .map(|w| {
                let status = match w.get(2) {
                    Some(s) => s.parse().map_err(|_| format!("--redirect: status {s:?}"))?,
                    None => 302,
                };
                Redirect::new(&w[0], &w[1], status)
            })
            .collect::<Result<_, _>>()?;
        let rewrites = f
            .rewrites
            .iter()
            .map(|w| Rewrite::new(&w[0], &w[1]))
            .collect::<Result<_, _>>()?;
        server.rules = std::mem::take(&mut server.rules).with(redirects, rewrites)?;
    }
    if let Some(file) = &f.auth_file {
        let prefix = f.auth_path.as_deref().unwrap_or("/");
        server.auth = Some(Arc::new(BasicAuth::read(file, prefix)?));
    } else if f.auth_path.is_some() {
        return Err("--auth-path says where --auth-file's users are asked for; give both".into());
    }
    if f.spa {
        server.fallback = Some("/index.html".into());
    }
    if f.error_pages {
        let folder = server
            .document_root
            .clone()
            .or_else(|| server.static_dir.clone())
            .ok_or(
                "--error-pages takes 404.html and 50x.html from the served folder, and none is",
            )?;
        let found = |name: &str| Some(folder.join(name)).filter(|p| p.is_file());
        server.error_pages.not_found = found("404.html").or(server.error_pages.not_found.take());
        server.error_pages.server_error =
            found("50x.html").or(server.error_pages.server_error.take());
        if server.error_pages.is_empty() {
            return Err(format!(
                "--error-pages: {} has neither 404.html nor 50x.html",
                folder.display()
            ));
        }
    }
    server.archives |= f.archives;
    if f.upload {
        server.uploads.get_or_insert(Uploads {
            anyone: false,
            overwrite: false,
            max_bytes: raw::DEFAULT_UPLOAD_MAX_BYTES,
        });
    }
    if let Some(up) = &mut server.uploads {
        up.anyone |= f.upload_anyone;
        up.overwrite |= f.overwrite;
    } else if f.upload_anyone || f.overwrite {
        return Err("--upload-anyone and --overwrite are about --upload; give it too".into());
    }
    server.metrics |= f.metrics;
    Ok(())
}

/// `--hash-password`: a bcrypt hash of the password on standard input's first line.
fn hash_password(name: &str) -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("{name}: reading the password: {e}");
        return ExitCode::from(1);
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("{name}: an empty password; type one, then Enter");
        return ExitCode::from(2);
    }
    match crate::server::basic_auth::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(1)
        }
    }
}

/// The config file and the SQLite database: never served, wherever they lie.
fn never_served(config: &Config) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = config.file.iter().cloned().collect();
    if let Some(Location::Sqlite(db)) = &config.framework.database {
        files.push(db.clone());
    }
    files
}

/// The diagnostic log on standard error, at `level` unless `RUST_LOG` says otherwise. An app
/// that set up a logger of its own keeps it.
fn start_logger(level: &str) {
    let _ = env_logger::Builder::new()
        .parse_filters(level)
        .parse_env("RUST_LOG")
        .try_init();
}

/// Binds, serves `app` until SIGINT or SIGTERM (Ctrl-C on Windows), and reloads the
/// certificate on SIGHUP.
fn serve(
    addrs: &[std::net::SocketAddr],
    server: ServerConfig,
    app: Arc<dyn App>,
) -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::bind(addrs, server)?;
    let handle = server.shutdown_handle();
    let reload = server.reload_handle();
    signals::on_stop_and_reload(
        move || handle.shutdown(),
        // A renewed certificate, as certbot's deploy hook or `systemctl reload` sends it.
        move || match reload.reload_tls() {
            Ok(true) => log::info!("SIGHUP: TLS certificate and key reloaded"),
            Ok(false) => log::info!("SIGHUP: nothing to reload (no TLS)"),
            Err(e) => log::error!("SIGHUP: keeping the current certificate: {e}"),
        },
    )?;
    server.run(app);
    Ok(())
}

/// A sentence for every route a static file hides (files come first, so it is never called).
fn shadowed_routes(router: &Router, server: &ServerConfig) -> Result<Vec<String>, BindError> {
    let fixed = router.routes().iter().filter_map(|r| r.fixed_path());
    let files = crate::server::static_paths(server, fixed)?;
    Ok(router
        .routes()
        .iter()
        .filter(|r| r.fixed_path().is_some_and(|p| files.contains(&p)))
        .map(|r| {
            format!(
                "route {} {} ({}) is shadowed: a static file answers that path first",
                r.method, r.pattern, r.name
            )
        })
        .collect())
}

/// What `--routes` prints.
fn routes_page(router: &Router, server: &ServerConfig, shadowed: &[String]) -> String {
    let files = match &server.static_dir {
        Some(dir) if dir.is_dir() => format!("under {}", dir.display()),
        _ if !server.builtin_static.is_empty() => "among the built-in files".to_string(),
        _ => "(there are none: no static folder)".to_string(),
    };
    let mut page = format!(
        "Files first: a path that names a file {files} (or a folder with an index.html)\n\
         is served as that file; every other request goes to these routes.\n\n"
    );
    page.push_str(&router.table());
    for warning in shadowed {
        page.push_str(&format!("warning: {warning}\n"));
    }
    page
}

/// This program's file name, for messages.
fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "miniweb".to_string())
}
