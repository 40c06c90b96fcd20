//! `Server-Timing` (W3C): where an app response's time went — holding a database connection,
//! rendering templates, waiting for another request's render, and whether the page cache
//! answered — so that a browser's developer
//! tools, and the access log, show it.

use std::cell::Cell;
use std::fmt::Write as _;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use super::database::Conn;

/// The phases of one request, added up as they happen (one thread per request).
#[derive(Default)]
pub(crate) struct Timing {
    db: Cell<Duration>,
    render: Cell<Duration>,
    /// Waiting for another request's render of the same page.
    wait: Cell<Duration>,
    /// What the page cache did for this request, if it was asked.
    cache: Cell<Option<CacheUse>>,
}

/// What the page cache did for one request: `cache;desc=hit`, `miss` or `joined`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheUse {
    /// Served the kept page.
    Hit,
    /// Rendered the page (and kept it, if it could be kept).
    Miss,
    /// Waited for the render another request was doing of the same page and version, and
    /// was served its result.
    Joined,
}

impl Timing {
    pub fn add_db(&self, d: Duration) {
        self.db.set(self.db.get() + d);
    }

    pub fn add_render(&self, d: Duration) {
        self.render.set(self.render.get() + d);
    }

    pub fn add_wait(&self, d: Duration) {
        self.wait.set(self.wait.get() + d);
    }

    pub fn cache(&self, used: CacheUse) {
        self.cache.set(Some(used));
    }

    /// The header value: `db;dur=0.412, render;dur=1.203, cache;desc=miss`, in milliseconds;
    /// a phase that did not happen is left out.
    pub fn header(&self) -> String {
        // One string, integer microseconds: float formatting cost more than a cached page's
        // whole lookup.
        let mut out = String::with_capacity(64);
        let mut part = |text: std::fmt::Arguments<'_>| {
            if !out.is_empty() {
                out.push_str(", ");
            }
            // Writing into a String cannot fail.
            let _ = out.write_fmt(text);
        };
        let phases = [
            ("db", self.db.get()),
            ("render", self.render.get()),
            ("wait", self.wait.get()),
        ];
        for (name, spent) in phases {
            if !spent.is_zero() {
                let us = spent.as_micros();
                part(format_args!("{name};dur={}.{:03}", us / 1000, us % 1000));
            }
        }
        match self.cache.get() {
            Some(CacheUse::Hit) => part(format_args!("cache;desc=hit")),
            Some(CacheUse::Miss) => part(format_args!("cache;desc=miss")),
            Some(CacheUse::Joined) => part(format_args!("cache;desc=joined")),
            None => {}
        }
        out
    }
}

/// A pooled connection whose time in hand counts as the request's database time.
pub struct TimedConnection<'a> {
    conn: Conn<'a>,
    since: Instant,
    timing: &'a Timing,
}

impl<'a> TimedConnection<'a> {
    pub(crate) fn new(conn: Conn<'a>, timing: &'a Timing, since: Instant) -> Self {
        TimedConnection {
            conn,
            since,
            timing,
        }
    }
}

impl<'a> Deref for TimedConnection<'a> {
    type Target = Conn<'a>;
    fn deref(&self) -> &Conn<'a> {
        &self.conn
    }
}

impl<'a> DerefMut for TimedConnection<'a> {
    fn deref_mut(&mut self) -> &mut Conn<'a> {
        &mut self.conn
    }
}

impl Drop for TimedConnection<'_> {
    fn drop(&mut self) {
        self.timing.add_db(self.since.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_phases_that_happened() {
        let t = Timing::default();
        assert_eq!(t.header(), "");
        t.add_db(Duration::from_micros(412));
        t.cache(CacheUse::Miss);
        t.add_render(Duration::from_micros(1203));
        assert_eq!(
            t.header(),
            "db;dur=0.412, render;dur=1.203, cache;desc=miss"
        );
        let hit = Timing::default();
        hit.cache(CacheUse::Hit);
        assert_eq!(hit.header(), "cache;desc=hit");
    }
}
