//! What runs around the handlers, as Flask's `before_request`, `after_request` and
//! `errorhandler`: registered in order on [`Hooks`], run in that order.
//!
//! - A **before** hook runs before the handler and may answer instead of it (`Ok(Some(..))`),
//!   a login check for an admin area say. With a prefix it runs for the routes whose pattern
//!   lies under it (`/admin` covers `/admin` and `/admin/…`, not `/administrator`). It is the
//!   route the router chose that decides, not the path as the client spelled it, so
//!   `/%61dmin/` cannot slip past. With `/` it runs for every request the framework answers,
//!   a path no route matches included.
//! - An **after** hook sees every response the framework gives (error pages too) and may
//!   change it, to add a header say.
//! - An **error handler** renders the page of one status, for a handler's `Err`, a path no
//!   route matches (404), a method a path does not take (405), or a handler's panic (500,
//!   the panic itself only in the log). Without one, the status's own template
//!   (`404.html`) or `error.html` is used.

use super::context::Ctx;
use super::error::Error;
use crate::http::Response;

/// Runs before the handlers; `Ok(Some(response))` answers instead of them.
pub type Before = fn(&Ctx<'_>) -> Result<Option<Response>, Error>;
/// Runs on every response, which it may change.
pub type After = fn(&Ctx<'_>, Response) -> Response;
/// Renders the page of an error; the response keeps the error's status.
pub type OnError = fn(&Ctx<'_>, &Error) -> Result<Response, Error>;

/// The hooks of an app, in the order they were registered.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    before: Vec<(String, Before)>,
    after: Vec<After>,
    on_error: Vec<(u16, OnError)>,
}

impl Hooks {
    /// No hooks.
    pub const fn new() -> Hooks {
        Hooks {
            before: Vec::new(),
            after: Vec::new(),
            on_error: Vec::new(),
        }
    }

    /// `hook` before the routes under `prefix` (`/` for every request).
    pub fn before(mut self, prefix: &str, hook: Before) -> Hooks {
        let prefix = prefix.trim_end_matches('/');
        self.before.push((prefix.to_string(), hook));
        self
    }

    /// `hook` on every response.
    pub fn after(mut self, hook: After) -> Hooks {
        self.after.push(hook);
        self
    }

    /// `handler` renders the page of `status`.
    pub fn on_error(mut self, status: u16, handler: OnError) -> Hooks {
        self.on_error.push((status, handler));
        self
    }

    /// The before hooks for a request that matched the route `pattern` (`None`: no route).
    pub(crate) fn before_for<'h>(
        &'h self,
        pattern: Option<&'h str>,
    ) -> impl Iterator<Item = Before> + 'h {
        self.before
            .iter()
            .filter(move |(prefix, _)| {
                prefix.is_empty() || pattern.is_some_and(|p| under(p, prefix))
            })
            .map(|(_, hook)| *hook)
    }

    /// The after hooks, in order.
    pub(crate) fn after_all(&self) -> &[After] {
        &self.after
    }

    /// The handler of `status`'s page, if the app has one.
    pub(crate) fn error_handler(&self, status: u16) -> Option<OnError> {
        self.on_error
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, h)| *h)
    }
}

/// Whether `pattern` lies under `prefix` (without its trailing `/`), segment by segment.
fn under(pattern: &str, prefix: &str) -> bool {
    pattern
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes(_: &Ctx<'_>) -> Result<Option<Response>, Error> {
        Ok(None)
    }

    #[test]
    fn a_prefix_covers_its_segments_only() {
        let hooks = Hooks::new()
            .before("/admin", yes)
            .before("/", yes)
            .before("/api/v1/", yes);
        let count = |p: Option<&str>| hooks.before_for(p).count();
        assert_eq!(count(Some("/admin")), 2);
        assert_eq!(count(Some("/admin/")), 2);
        assert_eq!(count(Some("/admin/{id}/delete")), 2);
        assert_eq!(count(Some("/administrator")), 1);
        assert_eq!(count(Some("/api/v1/notes")), 2);
        assert_eq!(count(Some("/api/v10")), 1);
        assert_eq!(count(None), 1, "no route: only the hooks of every request");
    }
}
