//! What a handler gets: the request, the values its route captured, and the framework's
//! services (a database connection, the templates, the form in the body).

use super::database::{Db, PooledConnection};
use super::error::Error;
use super::form::Form;
use crate::http::{Request, Response};

/// What a handler gets: the request, the captured path parameters, and the framework's
/// services (database, templates).
pub struct Ctx<'a> {
    /// The request being answered.
    pub req: &'a Request,
    /// Values captured by `{name}` in the route's pattern.
    pub params: Params,
    db: &'a Db,
    tera: &'a tera::Tera,
}

impl<'a> Ctx<'a> {
    /// The context of one call of a handler.
    pub(crate) fn new(req: &'a Request, params: Params, db: &'a Db, tera: &'a tera::Tera) -> Self {
        Ctx {
            req,
            params,
            db,
            tera,
        }
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

    /// A database connection from the pool.
    pub fn db(&self) -> Result<PooledConnection<'_>, Error> {
        Ok(self.db.get()?)
    }

    /// Renders `template` with `context` into a 200 HTML response.
    pub fn render(&self, template: &str, context: &tera::Context) -> Result<Response, Error> {
        // Pages are tens of KiB: start with room for one, rather than regrowing from nothing.
        let mut body = Vec::with_capacity(32 * 1024);
        self.tera.render_to(template, context, &mut body)?;
        Ok(Response::html(200, body))
    }

    /// The request body as a urlencoded form; another content type is a 415.
    pub fn form(&self) -> Result<Form, Error> {
        if let Some(ct) = self.req.header("Content-Type") {
            let essence = ct.split(';').next().unwrap_or_default().trim();
            if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
                return Err(Error::UnsupportedMediaType(format!(
                    "需要表单 (application/x-www-form-urlencoded)，收到的是 {essence}。"
                )));
            }
        }
        Form::parse(&self.req.body)
    }
}

/// The values captured by `{name}` in a pattern, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Adds the value captured as `name`.
    pub(crate) fn push(&mut self, name: &str, value: String) {
        self.0.push((name.to_string(), value));
    }

    /// The value captured as `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
