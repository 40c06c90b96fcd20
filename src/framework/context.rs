//! What a handler gets: the request, the values its route captured, and the framework's
//! services (a database connection, the templates, the session, the body as a form or
//! JSON, `url_for`).

use std::cell::{RefCell, RefMut};
use std::time::{Instant, SystemTime};

use super::database::Db;
use super::error::Error;
use super::flash;
use super::form::Form;
use super::params::Params;
use super::represent::{self, Representation};
use super::session::{self, Session, Signer};
use super::timing::{TimedConnection, Timing};
use super::url::Urls;
use crate::http::{Request, Response};
use crate::multipart::{self, Limits, Multipart, MultipartError};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What the framework lends every handler call, beside the request.
#[derive(Clone, Copy)]
pub(crate) struct Services<'a> {
    /// `None` when the app has no database.
    pub db: Option<&'a Db>,
    pub tera: &'a tera::Tera,
    pub timing: &'a Timing,
    /// `None` when the app has no `secret_key`.
    pub sessions: Option<&'a Signer>,
    pub urls: &'a Urls,
    pub upload_limits: Limits,
}

/// What a handler gets: the request, the captured path parameters, and the framework's
/// services (database, templates).
pub struct Ctx<'a> {
    /// The request being answered.
    pub req: &'a Request,
    /// Values captured by `{name}` in the route's pattern.
    pub params: Params,
    /// `None` when the app has no database.
    db: Option<&'a Db>,
    tera: &'a tera::Tera,
    /// What the client asked for, negotiated before the call (`None`: nothing offered fits).
    negotiated: Option<Representation>,
    /// Where the request's time goes, for `Server-Timing`.
    timing: &'a Timing,
    /// A message left by a failed action for this page to show once (see `flash`).
    flash: Option<String>,
    sessions: Option<&'a Signer>,
    /// The session, once a handler or hook has asked for it.
    session: RefCell<Option<Session>>,
    urls: &'a Urls,
    upload_limits: Limits,
}

impl<'a> Ctx<'a> {
    /// The context of one call of a handler.
    pub(crate) fn new(req: &'a Request, params: Params, services: Services<'a>) -> Self {
        Ctx {
            req,
            params,
            db: services.db,
            tera: services.tera,
            negotiated: represent::negotiated(req),
            timing: services.timing,
            flash: flash::read(req),
            sessions: services.sessions,
            session: RefCell::new(None),
            urls: services.urls,
            upload_limits: services.upload_limits,
        }
    }

    /// The templates this request renders with.
    pub(crate) fn templates(&self) -> &tera::Tera {
        self.tera
    }

    /// Where this request's time goes.
    pub(crate) fn timing(&self) -> &Timing {
        self.timing
    }

    /// The signed session (Flask's `session`), read from its cookie the first time it is
    /// asked for: `cx.session()?.get::<String>("user")`, `cx.session()?.insert("user", name)?`.
    /// A change is saved on the response. Signed, not encrypted: the client can read it.
    /// Without `secret_key` in the config, a 500 that says so in the log.
    pub fn session(&self) -> Result<RefMut<'_, Session>, Error> {
        let signer = self.sessions.ok_or_else(|| {
            Error::Internal(
                "sessions need a secret_key: set secret_key in config.toml or MINIWEB_SECRET_KEY"
                    .into(),
            )
        })?;
        let mut slot = self.session.borrow_mut();
        if slot.is_none() {
            *slot = Some(signer.open(self.req));
        }
        Ok(RefMut::map(slot, |s| {
            s.get_or_insert_with(Session::default)
        }))
    }

    /// The cookie `name` the client sent, if any.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.req.cookie(name)
    }

    /// The path of the handler `name` with `params` (see `url.rs`): `cx.url_for("add",
    /// &[("code", "000007")])?` is `/add/000007.html`. An unknown name or a missing
    /// parameter is a 500 naming both.
    pub fn url_for(&self, name: &str, params: &[(&str, &str)]) -> Result<String, Error> {
        self.urls.build(name, params).map_err(Error::Internal)
    }

    /// The body as JSON of type `T` (Flask's `request.get_json()`): 415 unless the request
    /// says `Content-Type: application/json` (or `…+json`); 400 with serde's message when
    /// the body is not JSON or does not fit `T`. The server's body limit applies; nesting
    /// deeper than 128 levels is refused, not followed down the stack.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let essence = self.media_type();
        let is_json = essence == "application/json"
            || essence
                .strip_prefix("application/")
                .is_some_and(|s| s.ends_with("+json"));
        if !is_json {
            return Err(self.unsupported("JSON (application/json)"));
        }
        serde_json::from_slice(&self.req.body.bytes()?)
            .map_err(|e| Error::BadRequest(format!("The body is not the JSON expected: {e}.")))
    }

    /// The body as a `multipart/form-data` form (Flask's `request.files` and
    /// `request.form`), read as a stream: files past a small size go to temporary files,
    /// within the app's `max_upload_file_bytes` (a 413 past it, as past the server's body
    /// limit); 415 for another `Content-Type`, 400 for a malformed or truncated body. Each
    /// file's name is made safe ([`Upload::file_name`](crate::multipart::Upload::file_name)).
    pub fn multipart(&self) -> Result<Multipart, Error> {
        if self.media_type() != "multipart/form-data" {
            return Err(self.unsupported("a form with files (multipart/form-data)"));
        }
        let content_type = self.req.header("Content-Type").unwrap_or_default();
        let boundary = multipart::boundary(content_type)
            .map_err(|e| Error::BadRequest(format!("The form cannot be read: {e}.")))?;
        let limits = self.upload_limits;
        multipart::parse(self.req.body.reader(), &boundary, &limits).map_err(|e| match e {
            MultipartError::TooLarge(what) => Error::PayloadTooLarge(format!(
                "The upload is too large: {what} is over its limit."
            )),
            MultipartError::Io(e) => Error::Io(e),
            other => Error::BadRequest(format!("The form cannot be read: {other}.")),
        })
    }

    /// The request's media type, lower-cased, without parameters; empty when it has none.
    fn media_type(&self) -> String {
        let ct = self.req.header("Content-Type").unwrap_or_default();
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    /// The 415 of an address that takes `what`.
    fn unsupported(&self, what: &str) -> Error {
        let got = match self.media_type() {
            t if t.is_empty() => "no Content-Type".to_string(),
            t => t,
        };
        Error::UnsupportedMediaType(format!("This address takes {what}, not {got}."))
    }

    /// The response with what this call leaves behind: the session's cookie when it changed,
    /// and, when the answer depended on the session, `Vary: Cookie` (and `Cache-Control:
    /// private` for a client that has one). Runs once; later calls change nothing.
    pub(crate) fn finish(&self, resp: Response) -> Result<Response, Error> {
        let Some(session) = self.session.borrow_mut().take() else {
            return Ok(resp);
        };
        let mut resp = resp;
        if !resp.headers.has_token("Vary", "Cookie") {
            resp.headers.append("Vary", "Cookie");
        }
        if self.req.cookie(session::COOKIE).is_some() && !resp.headers.contains("Cache-Control") {
            resp.headers.set("Cache-Control", "private");
        }
        if session.changed() {
            if let Some(signer) = self.sessions {
                let secure = self
                    .req
                    .origin
                    .as_deref()
                    .is_some_and(|o| o.starts_with("https://"));
                let cookie = signer.seal(&session, SystemTime::now(), secure)?;
                resp = resp.with_cookie(&cookie);
            }
        }
        Ok(resp)
    }

    /// The representation the client asked for (`?format=`, else `Accept`); `None` when it
    /// accepts none of HTML, JSON and CSV.
    pub fn negotiated(&self) -> Option<Representation> {
        self.negotiated
    }

    /// Answers with `rows` in the representation the client asked for: `template` rendered
    /// with the rows as `name` (HTML), `{"name": rows}` (JSON), or the rows as CSV, streamed,
    /// with `name.csv` as the file name. Each row serializes to a map of fields. `Vary: Accept`
    /// tells caches the answer depends on it; a client that accepts none of them gets 406.
    pub fn rows<T>(
        &self,
        template: &str,
        name: &'static str,
        rows: Vec<T>,
    ) -> Result<Response, Error>
    where
        T: Serialize + Send + 'static,
    {
        self.rows_with(template, name, rows, |_, _| {})
    }

    /// [`Ctx::rows`], with more for the HTML page alone: `extra` adds to the template's
    /// context what it draws from the rows (a chart, a total); the JSON and CSV are the rows.
    pub fn rows_with<T>(
        &self,
        template: &str,
        name: &'static str,
        rows: Vec<T>,
        extra: impl FnOnce(&[T], &mut tera::Context),
    ) -> Result<Response, Error>
    where
        T: Serialize + Send + 'static,
    {
        let resp = match self.negotiated {
            None => return Err(represent::not_acceptable()),
            Some(Representation::Html) => {
                let mut context = tera::Context::new();
                context.insert(name, &rows);
                extra(&rows, &mut context);
                self.render(template, &context)?
            }
            Some(Representation::Json) => represent::json(name, &rows)?,
            Some(Representation::Csv) => represent::csv(&format!("{name}.csv"), rows)?,
        };
        Ok(resp.with_header("Vary", "Accept"))
    }

    /// The captured parameter `name`. A name the route's pattern lacks is a bug in the
    /// handler: a 500 (logged), rather than a panic.
    pub fn param(&self, name: &str) -> Result<&str, Error> {
        self.params.get(name).ok_or_else(|| {
            Error::Internal(format!(
                "asked for {{{name}}}, which the route's pattern does not capture"
            ))
        })
    }

    /// A database connection from the pool; the time it is held (waiting for it included)
    /// counts as the request's `db` time in `Server-Timing`.
    /// Without a database (none set in the config), a 500 that says so in the log.
    pub fn db(&self) -> Result<TimedConnection<'_>, Error> {
        let db = self.db.ok_or_else(|| {
            Error::Internal("this app has no database: set `database` in config.toml".into())
        })?;
        let since = Instant::now();
        Ok(TimedConnection::new(db.get()?, self.timing, since))
    }

    /// The one-time message a failed action left for this page, if any; [`Ctx::render`]
    /// gives it to the template as `flash` and clears it.
    pub fn flash(&self) -> Option<&str> {
        self.flash.as_deref()
    }

    /// Renders `template` with `context` into a 200 HTML response; with `flash` added when a
    /// one-time message waits (the response then clears it and is not cached).
    pub fn render(&self, template: &str, context: &tera::Context) -> Result<Response, Error> {
        // Pages are tens of KiB: start with room for one, rather than regrowing from nothing.
        let started = Instant::now();
        let mut body = Vec::with_capacity(32 * 1024);
        let rendered = match &self.flash {
            None => self.tera.render_to(template, context, &mut body),
            Some(message) => {
                let mut context = context.clone();
                context.insert("flash", message);
                self.tera.render_to(template, &context, &mut body)
            }
        };
        self.timing.add_render(started.elapsed());
        rendered?;
        let resp = Response::html(200, body);
        Ok(match self.flash {
            None => resp,
            Some(_) => flash::shown(resp),
        })
    }

    /// The request body as a urlencoded form; another content type is a 415.
    pub fn form(&self) -> Result<Form, Error> {
        // A form without a Content-Type is taken as one: old clients send none.
        let essence = self.media_type();
        if !essence.is_empty() && essence != "application/x-www-form-urlencoded" {
            return Err(self.unsupported("a form (application/x-www-form-urlencoded)"));
        }
        Form::parse(&self.req.body.bytes()?)
    }
}
