//! The one error type of handlers, with `From` impls so that `?` works, and the one place
//! an error becomes a response.

use std::fmt;

use crate::http::{reason, Request, Response};

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
    /// 415: the body is not a form.
    UnsupportedMediaType(String),
    /// 500 (503 if the database was busy): a database failure.
    Db(crate::framework::SqlError),
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
            | Error::UnsupportedMediaType(m) => m,
            Error::MethodNotAllowed { .. } => "这个地址不接受这种请求方法。",
            Error::Db(e) if e.is_busy() => "服务器正忙，请稍后再试。",
            Error::Db(_) | Error::Template(_) | Error::Io(_) | Error::Internal(_) => {
                "服务器出了问题，已记录在日志中。"
            }
        }
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
        if status >= 500 {
            log::error!("{} {}: {self}", req.method, req.target);
        } else {
            log::debug!("{} {}: {self}", req.method, req.target);
        }
        let mut resp = page_with(tera, status, self.public_message(), |page| {
            if dev {
                page.insert("cause", &self.to_string());
            }
            extra(page);
        });
        if let Error::MethodNotAllowed { allow } = self {
            resp.headers.append("Allow", allow.join(", "));
        }
        if status == 503 {
            resp.headers.append("Retry-After", "1");
        }
        resp
    }
}

/// `error.html` filled with the status, its title and `message`; a fixed page if that fails.
pub(crate) fn page(tera: &tera::Tera, status: u16, message: &str) -> Response {
    page_with(tera, status, message, |_| {})
}

/// [`page`], with what `extra` adds to the template's context (dev mode's `cause`, `routes`).
pub(crate) fn page_with(
    tera: &tera::Tera,
    status: u16,
    message: &str,
    extra: impl FnOnce(&mut tera::Context),
) -> Response {
    let mut context = tera::Context::new();
    context.insert("status", &status);
    context.insert("reason", title(status));
    context.insert("message", message);
    extra(&mut context);
    match tera.render("error.html", &context) {
        Ok(body) => Response::html(status, body),
        Err(e) => {
            log::error!("error page failed to render: {}", Error::Template(e));
            Response::error_page(status)
        }
    }
}

/// The title of an error page: the status in the site's language (Chinese), the English
/// reason phrase for a status without one.
pub(crate) fn title(status: u16) -> &'static str {
    match status {
        400 => "请求有误",
        403 => "禁止访问",
        404 => "页面不存在",
        405 => "请求方法不允许",
        406 => "没有可接受的格式",
        408 => "请求超时",
        409 => "操作冲突",
        412 => "前提条件不成立",
        413 => "请求内容太大",
        415 => "不支持的内容类型",
        416 => "请求的范围无效",
        500 => "服务器内部错误",
        503 => "服务暂时不可用",
        other => reason(other),
    }
}

/// What the page of an error the server answered on its own (a static file's) tells the user.
pub(crate) fn server_message(status: u16) -> &'static str {
    match status {
        404 => "没有这个页面。",
        405 => "这个地址是一个文件，只能用 GET 或 HEAD 读取。",
        412 => "文件已经改变，请求的前提条件不再成立。",
        416 => "请求的字节范围超出了文件的长度。",
        s if s >= 500 => "服务器出了问题，已记录在日志中。",
        _ => "请求没有完成。",
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

impl From<crate::framework::SqlError> for Error {
    fn from(e: crate::framework::SqlError) -> Self {
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
