//! The framework: implements [`App`] with a route table collected from `#[route]`, Tera
//! templates, a database pool, one error-to-response conversion, and a page cache that is
//! valid exactly as long as the database is unchanged. It knows nothing of stocks.

mod context;
pub mod database;
mod error;
mod explain;
mod flash;
mod flight;
pub mod form;
pub mod hooks;
pub mod origin;
mod pages;
mod params;
mod pattern;
pub mod represent;
pub mod router;
pub mod session;
mod templates;
mod timing;
mod url;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use context::Ctx;
use context::Services;
pub use database::{Backend, Conn, Db, DbError, Location, Param, Row, SqlError, Text};
pub use error::Error;
pub use explain::Unmatched;
pub use form::Form;
pub use hooks::Hooks;
#[doc(hidden)]
pub use inventory;
pub use miniweb_macros::route;
pub use params::Params;
pub use represent::Representation;
pub use router::{Mount, RouteDef, RouteError, Router};
pub use session::Session;
pub use tera;
pub use timing::TimedConnection;

use crate::http::{App, Body, Counter, Request, Response};
use crate::multipart::Limits;
use error::Message;
use pages::PageCache;
use router::RouteMatch;
use session::Signer;
pub use templates::load_templates;
use templates::{builtin_templates, load_templates_with, Registrar, Templates};
use timing::Timing;
use url::Urls;

/// What the framework needs to know; the runner builds it from `config.toml` (an app without
/// the runner fills it itself). The framework reads no configuration file of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Folder of the Tera templates.
    pub templates_dir: PathBuf,
    /// The database: a SQLite file (created if missing), or a PostgreSQL server's URL;
    /// `None` for an app without one.
    pub database: Option<Location>,
    /// Connections to the database open at most, in this process.
    pub database_connections: usize,
    /// Folder of the numbered `.sql` migrations, applied at start-up.
    pub migrations_dir: PathBuf,
    /// Whether rendered GET pages are kept until the database changes.
    pub page_cache: bool,
    /// Whether cached pages are compressed (br, gzip) for clients that accept it.
    pub compression: bool,
    /// Whether responses carry `Server-Timing` (db, render, cache hit or miss).
    pub server_timing: bool,
    /// Templates compiled into the binary, as (name, bytes): used when `templates_dir` does
    /// not exist. A `templates_dir` that exists must hold every one of them by name.
    pub builtin_templates: &'static [(&'static str, &'static [u8])],
    /// Migrations compiled into the binary, as (file name, SQL): used when `migrations_dir`
    /// does not exist.
    pub builtin_migrations: &'static [(&'static str, &'static [u8])],
    /// Dev mode: templates reloaded when their files change, no page cache, and error pages
    /// that show the cause (a 404 lists the routes and why none matched). Never in production:
    /// it shows the site's insides to anyone.
    pub dev: bool,
    /// The keys sessions are signed with: the first signs, every one verifies (rotation).
    /// Empty: no sessions (in dev mode, a random key per start).
    pub secret_keys: Vec<String>,
    /// How long a session cookie stays good after it was last saved.
    pub session_max_age: Duration,
    /// Largest file in a multipart upload (`Ctx::multipart`), in bytes; the server's
    /// `max_body_bytes` bounds the whole request.
    pub max_upload_file_bytes: u64,
}

impl Default for Settings {
    /// The framework's own defaults, which `config.toml`'s derive from.
    fn default() -> Settings {
        Settings {
            templates_dir: "templates".into(),
            database: None,
            database_connections: 8,
            migrations_dir: "migrations".into(),
            page_cache: true,
            compression: true,
            server_timing: true,
            builtin_templates: &[],
            builtin_migrations: &[],
            dev: false,
            secret_keys: Vec::new(),
            session_max_age: Duration::from_secs(14 * 86_400),
            max_upload_file_bytes: crate::multipart::Limits::default().max_file_bytes,
        }
    }
}

/// The framework as an [`App`].
pub struct Framework {
    router: Router,
    /// Every route's name and pattern, for `url_for` (in Rust and in templates).
    urls: Arc<Urls>,
    hooks: Hooks,
    /// `None` without `secret_key`: no sessions.
    sessions: Option<Signer>,
    /// What `Ctx::multipart` parses within.
    upload_limits: Limits,
    templates: Templates,
    /// `None` for an app without a database.
    db: Option<Db>,
    pages: Option<PageCache>,
    server_timing: bool,
    /// Dev mode (see [`Settings::dev`]).
    dev: bool,
    /// The page for a path no route matches, rendered once: with files first, every missing
    /// file is such a path, so it is as hot as a static 404 in a plain file server.
    no_route: OnceLock<Arc<[u8]>>,
}

impl Framework {
    /// `router` (`Router::collect()`: every `#[route]`, built once by the caller, which has
    /// shown or checked it already) with everything from the settings: the templates, the
    /// database with its migrations applied. A templates or migrations folder that does not
    /// exist is replaced by the built-in files, when there are any; none at all is no error.
    /// Where each comes from is logged.
    pub fn from_settings(
        router: Router,
        settings: &Settings,
    ) -> Result<Framework, Box<dyn std::error::Error>> {
        let urls = urls_of(&router);
        let tera = templates_from(settings, &registrar(&urls))?;
        let db = match &settings.database {
            Some(location) => Some(database_from(location, settings)?),
            None => {
                let dir = &settings.migrations_dir;
                if dir.is_dir() || !settings.builtin_migrations.is_empty() {
                    return Err(format!(
                        "migrations in {} but no database to apply them to: set `database` \
                         (e.g. database = \"site.db\") in config.toml",
                        dir.display()
                    )
                    .into());
                }
                log::info!("database: none (set `database` in config.toml to have one)");
                None
            }
        };
        let mut framework = Framework::assemble(router, urls, tera, db, settings.page_cache)
            .with_compression(settings.compression)
            .with_server_timing(settings.server_timing);
        framework.sessions = Signer::new(&settings.secret_keys, settings.session_max_age);
        framework.upload_limits.max_file_bytes = settings.max_upload_file_bytes;
        if framework.sessions.is_none() && settings.dev {
            log::warn!(
                "dev mode without secret_key: sessions are signed with a random key, and end \
                 when the process does"
            );
            framework.sessions = Some(Signer::random(settings.session_max_age)?);
        }
        if settings.dev {
            framework = framework.in_dev_mode(dir_if_exists(&settings.templates_dir));
        }
        Ok(framework)
    }

    /// A framework from its parts; the page cache needs a database (its version says when a
    /// page is stale), so there is none without one.
    ///
    /// Templates in `tera` that call `url_for` must have been compiled with it registered:
    /// [`Framework::from_settings`] does that.
    pub fn new(
        router: Router,
        mut tera: tera::Tera,
        db: Option<Db>,
        page_cache: bool,
    ) -> Framework {
        let urls = urls_of(&router);
        registrar(&urls)(&mut tera);
        Framework::assemble(router, urls, tera, db, page_cache)
    }

    fn assemble(
        router: Router,
        urls: Arc<Urls>,
        tera: tera::Tera,
        db: Option<Db>,
        page_cache: bool,
    ) -> Framework {
        Framework {
            router,
            urls,
            hooks: Hooks::new(),
            sessions: None,
            upload_limits: Limits::default(),
            templates: Templates::Fixed(Box::new(tera)),
            pages: (page_cache && db.is_some()).then(|| PageCache::new(true)),
            db,
            server_timing: true,
            dev: false,
            no_route: OnceLock::new(),
        }
    }

    /// This framework in dev mode: the page cache off, causes shown on error pages, a 404 that
    /// explains the routes, and the templates reloaded from `templates_dir` (when given) as
    /// soon as a file there changes.
    pub fn in_dev_mode(mut self, templates_dir: Option<&Path>) -> Framework {
        self.dev = true;
        self.pages = None;
        let urls = self.urls.clone();
        let extend = move |tera: &mut tera::Tera| {
            tera.register_function("url_for", urls.clone().tera_function());
        };
        self.templates = match (templates_dir, self.templates) {
            (Some(dir), Templates::Fixed(tera)) => Templates::watched(dir, *tera, Arc::new(extend)),
            (_, same) => same,
        };
        self
    }

    /// This framework with `hooks` around its handlers (see `hooks.rs`).
    pub fn with_hooks(mut self, hooks: Hooks) -> Framework {
        self.hooks = hooks;
        self
    }

    /// This framework with sessions signed with `keys` (the first signs, all verify), good
    /// for `max_age`; none without keys.
    pub fn with_secret_keys(mut self, keys: &[String], max_age: Duration) -> Framework {
        self.sessions = Signer::new(keys, max_age);
        self
    }

    /// This framework with `Server-Timing` on every response (the default) or not.
    pub fn with_server_timing(mut self, on: bool) -> Framework {
        self.server_timing = on;
        self
    }

    /// This framework with the compression of cached pages on (the default) or off.
    pub fn with_compression(mut self, on: bool) -> Framework {
        self.pages = self.pages.map(|_| PageCache::new(on));
        self
    }

    /// Checkpoints the database so that its main file alone holds every committed write, and
    /// closes the idle connections: call once the server has stopped.
    pub fn close(&self) {
        if let Some(Err(e)) = self.db.as_ref().map(Db::close) {
            log::error!("closing the database: {e}");
        }
    }

    /// The 404 for a path no route matches: `error.html` rendered the first time, then shared;
    /// in dev mode rendered every time, with every route and why it did not match.
    fn no_route_page(&self, req: &Request, tera: &tera::Tera) -> Response {
        if self.dev {
            let message = Message::generic(404);
            return error::page_with(tera, 404, message, |page| self.explain_routes(req, page));
        }
        let body = self.no_route.get_or_init(|| {
            let page = error::page(tera, 404, Message::generic(404));
            Arc::from(page.body.as_bytes().unwrap_or_default())
        });
        Response::new(404)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body(Body::Shared(body.clone()))
    }

    /// Dev mode: every route, and why it did not answer `req`, as `routes` for `error.html`.
    fn explain_routes(&self, req: &Request, page: &mut tera::Context) {
        page.insert("routes", &self.router.explain(&req.method, req.raw_path()));
    }

    /// The answer to the request in `cx`, which the router matched as `matched`: before
    /// hooks, then the handler (through the page cache for a GET), its `Err` left to
    /// [`Framework::error_response`].
    fn handle(&self, cx: &Ctx<'_>, matched: Matched<'_>) -> Result<Response, Error> {
        let req = cx.req;
        let route = match matched {
            Matched::Route(route) => route,
            Matched::NotFound => {
                self.run_before_hooks(cx, None)?;
                return match self.hooks.error_handler(404) {
                    Some(_) if !self.dev => {
                        Err(Error::NotFound(error::server_message(404).to_string()))
                    }
                    _ => Ok(self.no_route_page(req, cx.templates())),
                };
            }
            Matched::MethodNotAllowed(allow) if req.method == "OPTIONS" => {
                return Ok(Response::new(204).with_header("Allow", allow.join(", ")));
            }
            Matched::MethodNotAllowed(allow) if self.dev => {
                let err = Error::MethodNotAllowed { allow };
                return Ok(err.to_response_with(req, cx.templates(), true, |page| {
                    self.explain_routes(req, page);
                }));
            }
            Matched::MethodNotAllowed(allow) => return Err(Error::MethodNotAllowed { allow }),
        };
        let safe = matches!(req.method.as_str(), "GET" | "HEAD" | "OPTIONS");
        if !safe {
            if let Err(cross) = origin::check_same_origin(req) {
                log::warn!(
                    "refused {} {}: sent from {}, this site is {}",
                    req.method,
                    req.target,
                    cross.from,
                    cross.site
                );
                return Err(Error::Forbidden(
                    "This form was sent from another site, and was refused.".into(),
                ));
            }
        }
        if let Some(early) = self.run_before_hooks(cx, Some(&route.pattern))? {
            return Ok(early);
        }
        let run = || run_handler(route, cx).and_then(|resp| cx.finish(resp));
        // A page showing a one-time message, or a signed-in user's page, is this browser's
        // alone: never kept, never replayed to another.
        let personal = cx.flash().is_some() || req.cookie(session::COOKIE).is_some();
        match (&self.pages, &self.db, route.method) {
            (_, _, "GET") if personal => run(),
            (Some(pages), Some(db), "GET") => {
                // One entry per representation of the page.
                let form = cx.negotiated().map_or("none", Representation::name);
                let key = format!("{} {form}", req.target);
                pages.get_or_render(req, &key, db, cx.timing(), run)
            }
            (_, _, "GET") => run().map(|r| pages::with_etag(req, r)),
            _ => run(),
        }
    }

    /// The before hooks for `pattern` (the matched route's, `None` for no route), in order;
    /// the first answer wins.
    fn run_before_hooks(
        &self,
        cx: &Ctx<'_>,
        pattern: Option<&str>,
    ) -> Result<Option<Response>, Error> {
        for hook in self.hooks.before_for(pattern) {
            if let Some(resp) = hook(cx)? {
                return Ok(Some(resp));
            }
        }
        Ok(None)
    }

    /// The page of `err`: for a browser after a failed form post, the way back with a flash
    /// message; else the app's handler for the status, else the status's template or
    /// `error.html`.
    fn error_response(&self, cx: &Ctx<'_>, err: &Error) -> Response {
        let req = cx.req;
        if let Some(back) = flash::redirect_with_flash(req, err) {
            return back;
        }
        if let Some(handler) = self.hooks.error_handler(err.status()) {
            err.log(req);
            match run_error_handler(handler, cx, err) {
                Ok(page) => return err.with_its_headers(page),
                Err(failed) => log::error!(
                    "{} {}: the handler of {}'s page failed: {failed}",
                    req.method,
                    req.target,
                    err.status()
                ),
            }
        }
        err.to_response(req, cx.templates(), self.dev)
    }
}

/// What the router made of a request.
enum Matched<'a> {
    Route(&'a router::Route),
    NotFound,
    MethodNotAllowed(Vec<&'static str>),
}

/// Calls the handler; a panic becomes a 500 for this request (the panic itself only in the
/// log), so that the app's page for 500 shows, not the server's.
fn run_handler(route: &router::Route, cx: &Ctx<'_>) -> Result<Response, Error> {
    match panic::catch_unwind(AssertUnwindSafe(|| (route.handler)(cx))) {
        Ok(answer) => answer,
        Err(cause) => Err(Error::Internal(format!(
            "{} panicked: {}",
            route.name,
            panic_message(&*cause)
        ))),
    }
}

/// An error handler's call, a panic in it an `Err`.
fn run_error_handler(
    handler: hooks::OnError,
    cx: &Ctx<'_>,
    err: &Error,
) -> Result<Response, Error> {
    match panic::catch_unwind(AssertUnwindSafe(|| handler(cx, err))) {
        Ok(page) => page,
        Err(cause) => Err(Error::Internal(format!(
            "panicked: {}",
            panic_message(&*cause)
        ))),
    }
}

/// What a panic said, when it said it with a string.
fn panic_message(cause: &(dyn std::any::Any + Send)) -> String {
    cause
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| cause.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

impl App for Framework {
    fn metrics(&self) -> Vec<Counter> {
        self.pages
            .as_ref()
            .map(PageCache::metrics)
            .unwrap_or_default()
    }

    fn call(&self, req: &Request) -> Response {
        let timing = Timing::default();
        let (tera, broken) = self.templates.current();
        let services = Services {
            db: self.db.as_ref(),
            tera: &tera,
            timing: &timing,
            sessions: self.sessions.as_ref(),
            urls: &self.urls,
            upload_limits: self.upload_limits,
        };
        let (matched, params) = match self.router.lookup(&req.method, req.raw_path()) {
            RouteMatch::Found(route, params) => (Matched::Route(route), params),
            RouteMatch::NotFound => (Matched::NotFound, Params::default()),
            RouteMatch::MethodNotAllowed(allow) => {
                (Matched::MethodNotAllowed(allow), Params::default())
            }
        };
        let cx = Ctx::new(req, params, services);
        let handled = match broken {
            // Dev mode, and a template file was saved half-written: say so on every page.
            Some(why) => Err(Error::Internal(why)),
            None => self.handle(&cx, matched),
        };
        let resp = handled.unwrap_or_else(|err| self.error_response(&cx, &err));
        // A session an error page or a hook touched is saved too.
        let mut resp = cx
            .finish(resp)
            .unwrap_or_else(|err| self.error_response(&cx, &err));
        for hook in self.hooks.after_all() {
            resp = hook(&cx, resp);
        }
        if self.server_timing {
            let phases = timing.header();
            if !phases.is_empty() {
                resp.headers.set("Server-Timing", phases);
            }
        }
        resp
    }
}

/// The app's templates: the folder when it exists (holding every built-in template by name,
/// so that a stray `templates/` in the current folder cannot silently replace the app's),
/// else the built-in ones, else none.
fn templates_from(settings: &Settings, extend: &Registrar) -> Result<tera::Tera, String> {
    let dir = &settings.templates_dir;
    let builtin = settings.builtin_templates;
    if dir.is_dir() {
        let tera = load_templates_with(dir, &**extend)?;
        let names: Vec<&str> = tera.get_template_names().collect();
        let missing: Vec<&str> = builtin
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !names.contains(name))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "templates folder {} lacks {}, which this app renders: complete it, or set \
                 templates_dir to another folder (without one, the built-in templates are used)",
                dir.display(),
                missing.join(", ")
            ));
        }
        log::info!("templates: {} from {}", names.len(), dir.display());
        Ok(tera)
    } else if builtin.is_empty() {
        log::info!("templates: none ({} not found)", dir.display());
        let mut tera = tera::Tera::default();
        extend(&mut tera);
        Ok(tera)
    } else {
        log::info!(
            "templates: {} built into the binary ({} not found)",
            builtin.len(),
            dir.display()
        );
        builtin_templates(builtin, &**extend)
    }
}

/// Every route's handler name and full pattern, for `url_for`.
fn urls_of(router: &Router) -> Arc<Urls> {
    Arc::new(Urls::new(
        router.routes().iter().map(|r| (r.name, r.pattern.as_str())),
    ))
}

/// What registers the framework's template functions (`url_for`) on a fresh Tera, before its
/// templates are compiled.
fn registrar(urls: &Arc<Urls>) -> Registrar {
    let urls = urls.clone();
    Arc::new(move |tera: &mut tera::Tera| {
        tera.register_function("url_for", urls.clone().tera_function());
    })
}

/// The database at `location`, opened, with the app's migrations applied: the folder's when
/// it exists, else the built-in ones.
fn database_from(location: &Location, settings: &Settings) -> Result<Db, DbError> {
    let db = Db::open(location, settings.database_connections)?;
    log::info!("database: {location}");
    let dir = &settings.migrations_dir;
    let builtin = settings.builtin_migrations;
    if dir.is_dir() {
        log::info!("migrations: from {}", dir.display());
        db.migrate(dir)?;
    } else if builtin.is_empty() {
        log::info!("migrations: none ({} not found)", dir.display());
    } else {
        log::info!(
            "migrations: {} built into the binary ({} not found)",
            builtin.len(),
            dir.display()
        );
        db.migrate_builtin(builtin)?;
    }
    Ok(db)
}

/// `dir`, if it is there: dev mode reloads templates from a folder, not from the binary.
fn dir_if_exists(dir: &Path) -> Option<&Path> {
    dir.is_dir().then_some(dir)
}

#[cfg(test)]
mod tests;
