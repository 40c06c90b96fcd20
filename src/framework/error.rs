//! The one error type of handlers, with `From` impls so that `?` works, and the one place
//! an error becomes a response.

use std::fmt;

use super::database::SqlError;
use crate::http::{escape_html, reason, Request, Response};

/// Everything a handler can fail with. Client errors carry a message meant for the user;
/// server errors carry the cause, which is logged and never shown.
#[derive(Debug)]
pub enum Error {
    /// 404: nothing here (the message says what was not found).
    NotFound(String),
    /// 405: the path exists for these methods only.
    MethodNotAllowed {
        /// The methods that would be allowed, for the `Allow` header.
        allow: Vec<&'static str>,
    },
    /// 400: the request makes no sense (bad form field, bad encoding).
    BadRequest(String),
    /// 403: not allowed from here (a cross-site form post).
    Forbidden(String),
    /// 406: none of the page's representations is acceptable to the client.
    NotAcceptable(String),
    /// 409: the request conflicts with the current state (already followed).
    Conflict(String),
    /// 415: the body is not of the type this address takes (a form, JSON).
    UnsupportedMediaType(String),
    /// 413: the body, or a file in it, is over its size limit.
    PayloadTooLarge(String),
    /// 500 (503 if the database was busy): a database failure.
    Db(SqlError),
    /// 500: a template failed to render.
    Template(tera::Error),
    /// 500: an I/O failure.
    Io(std::io::Error),
    /// 500: a bug in a handler (it asked for something its route does not provide).
    Internal(String),
}

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::BadRequest(_) => 400,
            Error::Forbidden(_) => 403,
            Error::NotAcceptable(_) => 406,
            Error::Conflict(_) => 409,
            Error::UnsupportedMediaType(_) => 415,
            Error::PayloadTooLarge(_) => 413,
            Error::Db(e) if e.is_busy() => 503,
            Error::Db(_) | Error::Template(_) | Error::Io(_) | Error::Internal(_) => 500,
        }
    }

    /// What the client may be told: the handler's message for client errors, a fixed sentence
    /// for server errors.
    pub fn public_message(&self) -> &str {
        match self {
            Error::NotFound(m)
            | Error::BadRequest(m)
            | Error::Forbidden(m)
            | Error::Conflict(m)
            | Error::NotAcceptable(m)
            | Error::UnsupportedMediaType(m)
            | Error::PayloadTooLarge(m) => m,
            Error::MethodNotAllowed { .. } => server_message(405),
            Error::Db(e) if e.is_busy() => server_message(503),
            Error::Db(_) | Error::Template(_) | Error::Io(_) | Error::Internal(_) => {
                server_message(500)
            }
        }
    }

    /// The same answer for another request: what a request that waited for this one's render
    /// is told when the render failed. Client errors keep their message; a server error
    /// becomes [`Error::Internal`] with this one's cause (or a busy database, still a 503).
    pub(crate) fn replay(&self) -> Error {
        match self {
            Error::NotFound(m) => Error::NotFound(m.clone()),
            Error::MethodNotAllowed { allow } => Error::MethodNotAllowed {
                allow: allow.clone(),
            },
            Error::BadRequest(m) => Error::BadRequest(m.clone()),
            Error::Forbidden(m) => Error::Forbidden(m.clone()),
            Error::NotAcceptable(m) => Error::NotAcceptable(m.clone()),
            Error::Conflict(m) => Error::Conflict(m.clone()),
            Error::UnsupportedMediaType(m) => Error::UnsupportedMediaType(m.clone()),
            Error::PayloadTooLarge(m) => Error::PayloadTooLarge(m.clone()),
            Error::Db(e) if e.is_busy() => Error::Db(SqlError::Unavailable(e.to_string())),
            other => Error::Internal(format!(
                "the render this request waited for failed: {other}"
            )),
        }
    }

    /// Whether [`Error::public_message`] is the framework's own sentence for the status
    /// rather than the handler's: an app's `error.html` may put its own words in its place
    /// (the `generic` flag of the page).
    pub fn is_generic(&self) -> bool {
        matches!(
            self,
            Error::MethodNotAllowed { .. }
                | Error::Db(_)
                | Error::Template(_)
                | Error::Io(_)
                | Error::Internal(_)
        )
    }

    /// The one conversion of an error into a response: `error.html` with the status and the
    /// public message, or a fixed page if that fails. Causes go to the log only: 5xx at error
    /// level, 4xx at debug; in dev mode (`dev`) the page shows the cause as well.
    pub(crate) fn to_response(&self, req: &Request, tera: &tera::Tera, dev: bool) -> Response {
        self.to_response_with(req, tera, dev, |_| {})
    }

    /// [`Error::to_response`], with what `extra` adds to the page's context (dev mode's
    /// route explanations).
    pub(crate) fn to_response_with(
        &self,
        req: &Request,
        tera: &tera::Tera,
        dev: bool,
        extra: impl FnOnce(&mut tera::Context),
    ) -> Response {
        let status = self.status();
        self.log(req);
        let message = Message {
            text: self.public_message(),
            generic: self.is_generic(),
        };
        let resp = page_with(tera, status, message, |page| {
            if dev {
                page.insert("cause", &self.to_string());
            }
            extra(page);
        });
        self.with_its_headers(resp)
    }

    /// Records the error: a server error's cause at error level, a client error at debug.
    pub(crate) fn log(&self, req: &Request) {
        if self.status() >= 500 {
            log::error!("{} {}: {self}", req.method, req.target);
        } else {
            log::debug!("{} {}: {self}", req.method, req.target);
        }
    }

    /// `page` as the answer to this error: its status, with `Allow` for a 405 and
    /// `Retry-After` for a 503.
    pub(crate) fn with_its_headers(&self, mut page: Response) -> Response {
        page.status = self.status();
        if let Error::MethodNotAllowed { allow } = self {
            page.headers.set("Allow", allow.join(", "));
        }
        if page.status == 503 {
            page.headers.set("Retry-After", "1");
        }
        page
    }
}

/// What an error page tells the user, and whether it is the framework's own sentence for the
/// status (`generic`) or the handler's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    pub text: &'a str,
    pub generic: bool,
}

impl Message<'static> {
    /// The framework's own sentence for `status`.
    pub fn generic(status: u16) -> Message<'static> {
        Message {
            text: server_message(status),
            generic: true,
        }
    }
}

/// The status's own template (`404.html`) or else `error.html`, filled with `status`,
/// `reason`, `message` and `generic`; both are optional, and without them (or if the one
/// chosen fails) a plain page says the same.
pub(crate) fn page(tera: &tera::Tera, status: u16, message: Message<'_>) -> Response {
    page_with(tera, status, message, |_| {})
}

/// [`page`], with what `extra` adds to the template's context (dev mode's `cause`, `routes`).
pub(crate) fn page_with(
    tera: &tera::Tera,
    status: u16,
    message: Message<'_>,
    extra: impl FnOnce(&mut tera::Context),
) -> Response {
    let mut context = tera::Context::new();
    context.insert("status", &status);
    context.insert("reason", reason(status));
    context.insert("message", message.text);
    context.insert("generic", &message.generic);
    extra(&mut context);
    // A page of the status's own (`404.html`), else the app's `error.html`, else a plain one.
    let own = format!("{status}.html");
    let template = [own.as_str(), ERROR_TEMPLATE]
        .into_iter()
        .find(|t| tera.get_template_names().any(|name| name == *t));
    let Some(template) = template else {
        return plain_page(status, message.text, &context);
    };
    match tera.render(template, &context) {
        Ok(body) => Response::html(status, body),
        Err(e) => {
            log::error!("error page failed to render: {}", Error::Template(e));
            plain_page(status, message.text, &context)
        }
    }
}

/// The template of an app's error pages.
const ERROR_TEMPLATE: &str = "error.html";

/// The page of an app without `error.html`: the status, the message, and in dev mode the
/// cause, escaped.
fn plain_page(status: u16, message: &str, context: &tera::Context) -> Response {
    let line = format!("{status} {}", reason(status));
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{line}</title>\
         </head><body><h1>{line}</h1><p>{}</p>",
        escape_html(message)
    );
    if let Some(cause) = context.get("cause").and_then(|c| c.as_str()) {
        page.push_str(&format!(
            "<h2>Cause (dev mode)</h2><pre>{}</pre>",
            escape_html(cause)
        ));
    }
    page.push_str("<hr><p>miniweb</p></body></html>\n");
    Response::html(status, page)
}

/// What the page of an error the framework or the server answers on its own tells the user.
pub(crate) fn server_message(status: u16) -> &'static str {
    match status {
        404 => "There is no page at this address.",
        405 => "This address does not answer this request method.",
        412 => "The file has changed: the request's precondition no longer holds.",
        416 => "The requested byte range lies outside the file.",
        503 => "The server is busy; please try again in a moment.",
        s if s >= 500 => "Something went wrong on the server; it has been logged.",
        _ => "The request could not be completed.",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Db(e) => write!(f, "database: {e}"),
            Error::Template(e) => {
                // Tera hides the useful part in the source chain.
                write!(f, "template: {e}")?;
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    write!(f, ": {s}")?;
                    source = s.source();
                }
                Ok(())
            }
            Error::Io(e) => write!(f, "I/O: {e}"),
            Error::Internal(why) => write!(f, "handler bug: {why}"),
            other => write!(f, "{} {}", other.status(), other.public_message()),
        }
    }
}

impl std::error::Error for Error {}

impl From<SqlError> for Error {
    fn from(e: SqlError) -> Self {
        Error::Db(e)
    }
}

impl From<tera::Error> for Error {
    fn from(e: tera::Error) -> Self {
        Error::Template(e)
    }
}

impl From<crate::http::CookieError> for Error {
    fn from(e: crate::http::CookieError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}
