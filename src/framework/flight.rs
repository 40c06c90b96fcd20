//! One render per page and data version (single flight): when a kept page is stale, the first
//! request for it renders it, and the requests that want the same page at the same version
//! (or an older one) meanwhile wait for that render and are served what it made, as nginx's
//! `proxy_cache_lock` and Varnish's request coalescing do. Without it every request that
//! arrives between a write and the new page renders the page again itself.
//!
//! A request never waits for a render of an older version than the one it read: after a
//! write, the first request to see it starts a render of its own. Requests for different
//! pages never wait for each other.

use crate::sync::Unpoisoned;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::error::Error;

/// A waiter that has waited this long renders the page itself: a backstop for a render that
/// never ends, not a deadline for ordinary ones (a page renders in milliseconds).
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// The renders under way, by page key.
pub(crate) struct Flights<T> {
    under_way: Mutex<HashMap<String, Arc<Flight<T>>>>,
}

/// One render under way, and what it made once it has landed.
struct Flight<T> {
    /// The data version it renders.
    version: i64,
    landed: Mutex<Option<Landed<T>>>,
    done: Condvar,
    /// Requests waiting for it (read by the tests).
    waiting: AtomicUsize,
}

/// How a render ended.
enum Landed<T> {
    Rendered(T),
    /// The handler's error, as every waiter is told it again ([`Error::replay`]).
    Failed(Error),
    /// The handler panicked.
    Panicked,
}

/// What a request that finds its page stale does.
pub(crate) enum Turn<'a, T> {
    /// Render the page, then hand the outcome to [`Leader::land`].
    Lead(Leader<'a, T>),
    /// Another request rendered it meanwhile: its result, or its error.
    Joined(Result<T, Error>),
    /// The render waited for did not end in time: render the page without a flight.
    Alone,
}

/// The request that renders a page for the others. Dropped without landing (the handler
/// panicked), it tells its waiters so, and the next request renders again.
pub(crate) struct Leader<'a, T> {
    flights: &'a Flights<T>,
    key: String,
    flight: Arc<Flight<T>>,
    landed: bool,
}

impl<T: Clone> Flights<T> {
    pub fn new() -> Flights<T> {
        Flights {
            under_way: Mutex::new(HashMap::new()),
        }
    }

    /// Joins the render of `key` under way for `version` or a newer one, waiting for it to
    /// land; or, when there is none, makes this request the one that renders.
    pub fn join_or_lead(&self, key: &str, version: i64) -> Turn<'_, T> {
        let mut under_way = self.lock();
        if let Some(flight) = under_way.get(key).filter(|f| f.version >= version) {
            let flight = flight.clone();
            drop(under_way);
            return flight.wait();
        }
        let flight = Arc::new(Flight {
            version,
            landed: Mutex::new(None),
            done: Condvar::new(),
            waiting: AtomicUsize::new(0),
        });
        // A render of an older version may still be under way; its waiters keep it.
        under_way.insert(key.to_string(), flight.clone());
        Turn::Lead(Leader {
            flights: self,
            key: key.to_string(),
            flight,
            landed: false,
        })
    }

    /// Requests waiting for a render of any page, now.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        let under_way = self.lock();
        under_way
            .values()
            .map(|f| f.waiting.load(Ordering::SeqCst))
            .sum()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Flight<T>>>> {
        self.under_way.lock().unpoisoned()
    }
}

impl<T: Clone> Flight<T> {
    /// Waits for this render to land, at most [`LONGEST_WAIT`].
    fn wait<'a>(&self) -> Turn<'a, T> {
        let deadline = Instant::now() + LONGEST_WAIT;
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut landed = self.landed.lock().unpoisoned();
        let turn = loop {
            match &*landed {
                Some(Landed::Rendered(made)) => break Turn::Joined(Ok(made.clone())),
                Some(Landed::Failed(e)) => break Turn::Joined(Err(e.replay())),
                Some(Landed::Panicked) => {
                    let why = "the render this request waited for panicked".to_string();
                    break Turn::Joined(Err(Error::Internal(why)));
                }
                None => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Turn::Alone;
            }
            landed = self.done.wait_timeout(landed, left).unpoisoned().0;
        };
        drop(landed);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        turn
    }
}

impl<T> Leader<'_, T> {
    /// The render's outcome, for every request waiting for it; the flight is over, and the
    /// next request that finds the page stale renders again.
    pub fn land(mut self, outcome: Result<T, &Error>) {
        let landed = match outcome {
            Ok(made) => Landed::Rendered(made),
            Err(e) => Landed::Failed(e.replay()),
        };
        self.finish(landed);
    }

    fn finish(&mut self, landed: Landed<T>) {
        self.landed = true;
        // Off the table first, so that no one joins a flight that has landed.
        let mut under_way = self.flights.under_way.lock().unpoisoned();
        if under_way
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            under_way.remove(&self.key);
        }
        drop(under_way);
        *self.flight.landed.lock().unpoisoned() = Some(landed);
        self.flight.done.notify_all();
    }
}

impl<T> Drop for Leader<'_, T> {
    fn drop(&mut self) {
        if !self.landed {
            self.finish(Landed::Panicked);
        }
    }
}
