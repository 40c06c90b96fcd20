//! The `miniweb` binary: command line and config.toml, logger, application, server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use miniweb::config::Config;
use miniweb::framework::{Framework, Router};
use miniweb::server::{BindError, Server, ServerConfig};

const USAGE: &str = "\
usage: miniweb [PORT] [-d DIR] [--autoindex] [--dev] [--bind ADDR] [--config FILE] [--routes] [--version] [--help]

  PORT           TCP port to listen on (0-65535; 0 picks a free one); default from the config
  -d, --directory DIR
                 serve DIR's files too, before the site's own (like python3 -m http.server
                 -d DIR); a path that names no file there still reaches the site's pages
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
  --version      print the version and exit
  --help         print this help and exit

Every setting of the config file can also be given as an environment variable, MINIWEB_ and
the key in upper case: MINIWEB_PORT=9000, MINIWEB_ACCESS_LOG=off. Precedence: the command
line, then the environment, then the config file, then the built-in defaults.

Signals: SIGINT and SIGTERM stop gracefully (requests in flight finish); SIGHUP rereads
tls_cert and tls_key.

Logging: RUST_LOG (e.g. RUST_LOG=debug) overrides log_level for the diagnostic log (standard
error); the access log goes to standard output unless access_log in the config says otherwise.";

/// What the command line asks for.
#[derive(Debug, Default)]
struct Args {
    port: Option<u16>,
    bind: Option<String>,
    directory: Option<PathBuf>,
    autoindex: bool,
    dev: bool,
    version: bool,
    config: Option<PathBuf>,
    routes: bool,
    help: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => out.help = true,
            "--routes" => out.routes = true,
            "--autoindex" => out.autoindex = true,
            "--dev" => out.dev = true,
            "-V" | "--version" => out.version = true,
            "--bind" => out.bind = Some(it.next().ok_or("--bind needs an address")?),
            "-d" | "--directory" => {
                let dir = it.next().ok_or("-d needs a folder")?;
                out.directory = Some(PathBuf::from(dir));
            }
            s if s.starts_with("--directory=") => {
                out.directory = Some(PathBuf::from(&s["--directory=".len()..]));
            }
            s if s.starts_with("--bind=") => out.bind = Some(s["--bind=".len()..].to_string()),
            "--config" => {
                let file = it.next().ok_or("--config needs a file name")?;
                out.config = Some(PathBuf::from(file));
            }
            s if s.starts_with("--config=") => {
                out.config = Some(PathBuf::from(&s["--config=".len()..]));
            }
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
    Ok(out)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("miniweb: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.version {
        println!("miniweb {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("miniweb: {e}");
            ExitCode::from(1)
        }
    }
}

/// A sentence for every route a static file hides (files come first, so it is never called).
fn shadowed_routes(router: &Router, server: &ServerConfig) -> Result<Vec<String>, BindError> {
    let fixed = router.routes().iter().filter_map(|r| r.fixed_path());
    let files = miniweb::server::static_paths(server, fixed)?;
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

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::load(args.config.as_deref())?;
    // The command line wins over the environment and the file.
    if let Some(port) = args.port {
        config.port = port;
    }
    if let Some(bind) = args.bind {
        if bind.trim().is_empty() {
            return Err("--bind needs an address".into());
        }
        config.host = bind;
    }
    if args.autoindex {
        config.server.autoindex = true;
    }
    if args.dev {
        config.framework.dev = true;
    }
    if let Some(dir) = args.directory {
        // Relative to where the command runs, as for `python3 -m http.server -d DIR`.
        config.server.document_root = Some(std::env::current_dir()?.join(dir));
    }
    env_logger::Builder::new()
        .parse_filters(&config.log_level)
        .parse_env("RUST_LOG")
        .init();
    let router = Router::collect()?;
    let shadowed = shadowed_routes(&router, &config.server)?;
    if args.routes {
        println!(
            "Files first: a path that names a file under {} (or a folder with an index.html)\n\
             is served as that file; every other request goes to these routes.\n",
            config.server.static_dir.display()
        );
        print!("{}", router.table());
        for warning in &shadowed {
            println!("warning: {warning}");
        }
        return Ok(());
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
    let framework = Arc::new(Framework::from_settings(&config.framework)?);
    let server = Server::bind(&addrs, config.server)?;
    let handle = server.shutdown_handle();
    let reload = server.reload_handle();
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if sig != SIGHUP {
                log::info!("signal {sig} received");
                handle.shutdown();
                return;
            }
            // SIGHUP: a renewed certificate, as certbot's deploy hook or `systemctl reload`.
            match reload.reload_tls() {
                Ok(true) => log::info!("SIGHUP: TLS certificate and key reloaded"),
                Ok(false) => log::info!("SIGHUP: nothing to reload (no TLS)"),
                Err(e) => log::error!("SIGHUP: keeping the current certificate: {e}"),
            }
        }
    });
    server.run(framework.clone());
    framework.close();
    Ok(())
}
