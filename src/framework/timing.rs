//! `Server-Timing` (W3C): where an app response's time went — holding a database connection,
//! rendering templates, and whether the page cache answered — so that a browser's developer
//! tools, and the access log, show it.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use super::database::Conn;

/// The phases of one request, added up as they happen (one thread per request).
#[derive(Default)]
pub(crate) struct Timing {
    db: Cell<Duration>,
    render: Cell<Duration>,
    /// `Some(true)` for a page served from the cache, `Some(false)` for one rendered for it.
    cache: Cell<Option<bool>>,
}

impl Timing {
    pub fn add_db(&self, d: Duration) {
        self.db.set(self.db.get() + d);
    }

    pub fn add_render(&self, d: Duration) {
        self.render.set(self.render.get() + d);
    }

    pub fn cache(&self, hit: bool) {
        self.cache.set(Some(hit));
    }

    /// The header value: `db;dur=0.412, render;dur=1.203, cache;desc=miss`, in milliseconds;
    /// a phase that did not happen is left out.
    pub fn header(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mut parts = Vec::new();
        if !self.db.get().is_zero() {
            parts.push(format!("db;dur={:.3}", ms(self.db.get())));
        }
        if !self.render.get().is_zero() {
            parts.push(format!("render;dur={:.3}", ms(self.render.get())));
        }
        match self.cache.get() {
            Some(true) => parts.push("cache;desc=hit".to_string()),
            Some(false) => parts.push("cache;desc=miss".to_string()),
            None => {}
        }
        parts.join(", ")
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
        t.cache(false);
        t.add_render(Duration::from_micros(1203));
        assert_eq!(
            t.header(),
            "db;dur=0.412, render;dur=1.203, cache;desc=miss"
        );
        let hit = Timing::default();
        hit.cache(true);
        assert_eq!(hit.header(), "cache;desc=hit");
    }
}
