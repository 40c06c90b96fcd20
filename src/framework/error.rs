//! The one error type of handlers, with `From` impls so that `?` works, and its status.

use std::fmt;

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
    /// 409: the request conflicts with the current state (already followed).
    Conflict(String),
    /// 415: the body is not a form.
    UnsupportedMediaType(String),
    /// 500 (503 if the database was busy): a database failure.
    Db(rusqlite::Error),
    /// 500: a template failed to render.
    Template(tera::Error),
    /// 500: an I/O failure.
    Io(std::io::Error),
}

impl Error {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::BadRequest(_) => 400,
            Error::Forbidden(_) => 403,
            Error::Conflict(_) => 409,
            Error::UnsupportedMediaType(_) => 415,
            Error::Db(e) if is_busy(e) => 503,
            Error::Db(_) | Error::Template(_) | Error::Io(_) => 500,
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
            | Error::UnsupportedMediaType(m) => m,
            Error::MethodNotAllowed { .. } => "This address does not accept that method.",
            Error::Db(e) if is_busy(e) => "The server is busy; please try again.",
            Error::Db(_) | Error::Template(_) | Error::Io(_) => {
                "Something went wrong on our side; it has been logged."
            }
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
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
            other => write!(f, "{} {}", other.status(), other.public_message()),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Db(e)
    }
}

impl From<tera::Error> for Error {
    fn from(e: tera::Error) -> Self {
        Error::Template(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}
