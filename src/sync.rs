//! Locks that survive a panic: the one way miniweb takes a lock, a read or write guard, or
//! wakes from a condition variable.
//!
//! A thread that panicked while holding a lock poisons it. Every panic miniweb can meet is a
//! handler's, caught at the app boundary and answered with a 500; what the locks guard
//! (caches, the live set, the pool's queue) is left consistent between statements, so the
//! next thread goes on with the data rather than failing every request after the first.

use std::sync::{LockResult, PoisonError};

/// `unpoisoned()` on what `lock`, `read`, `write` and `Condvar::wait` return.
pub(crate) trait Unpoisoned<G> {
    /// The guard, poisoned or not.
    fn unpoisoned(self) -> G;
}

impl<G> Unpoisoned<G> for LockResult<G> {
    fn unpoisoned(self) -> G {
        self.unwrap_or_else(PoisonError::into_inner)
    }
}
