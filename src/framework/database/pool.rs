//! The one pool of database connections, SQLite's and PostgreSQL's: at most `max_open`
//! connections in all, reused with what they have prepared; a request that finds none free
//! waits its turn, first come first served, for at most `wait`, and is then told the database
//! is busy (a 503 with `Retry-After`, not a 500).

use crate::sync::Unpoisoned;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a request waits for a free connection before it is answered 503, as long as the
/// busy timeout of SQLite's writers.
pub(super) const POOL_WAIT: Duration = Duration::from_secs(5);

/// A bounded pool of connections of type `C`.
pub(super) struct Pool<C> {
    books: Mutex<Books<C>>,
    /// Signalled when a connection comes back, one is closed, or a waiter leaves the queue.
    turn: Condvar,
    max_open: usize,
    wait: Duration,
}

/// What the pool holds and who waits.
struct Books<C> {
    idle: Vec<C>,
    /// Connections open in all: idle, lent out, or being opened.
    open: usize,
    /// The tickets of the requests waiting, oldest first; only the first may take.
    queue: VecDeque<u64>,
    next_ticket: u64,
}

/// Why no connection was lent.
#[derive(Debug)]
pub(super) enum PoolError<E> {
    /// Every connection stayed in use for the whole wait.
    Busy {
        /// The bound.
        max_open: usize,
        /// How long the request waited.
        waited: Duration,
    },
    /// A new connection could not be opened.
    Connect(E),
}

impl<C> Pool<C> {
    /// A pool of at most `max_open` (at least 1) connections, holding `first`, already open.
    pub fn new(max_open: usize, wait: Duration, first: C) -> Pool<C> {
        Pool {
            books: Mutex::new(Books {
                idle: vec![first],
                open: 1,
                queue: VecDeque::new(),
                next_ticket: 0,
            }),
            turn: Condvar::new(),
            max_open: max_open.max(1),
            wait,
        }
    }

    /// An idle connection that `usable` accepts (one it refuses is closed), else a new one
    /// from `connect` while fewer than the bound are open, else the first one given back
    /// within the wait, in the order the requests came.
    pub fn get<E>(
        &self,
        connect: impl FnOnce() -> Result<C, E>,
        usable: impl Fn(&C) -> bool,
    ) -> Result<C, PoolError<E>> {
        let started = Instant::now();
        let mut books = self.lock();
        let ticket = books.next_ticket;
        books.next_ticket += 1;
        books.queue.push_back(ticket);
        loop {
            if books.queue.front() == Some(&ticket) {
                while let Some(conn) = books.idle.pop() {
                    if usable(&conn) {
                        self.leave_queue(&mut books);
                        return Ok(conn);
                    }
                    books.open -= 1;
                }
                if books.open < self.max_open {
                    books.open += 1;
                    self.leave_queue(&mut books);
                    drop(books);
                    return connect().map_err(|e| {
                        self.closed();
                        PoolError::Connect(e)
                    });
                }
            }
            let waited = started.elapsed();
            let Some(left) = self.wait.checked_sub(waited).filter(|d| !d.is_zero()) else {
                books.queue.retain(|t| *t != ticket);
                self.turn.notify_all();
                return Err(PoolError::Busy {
                    max_open: self.max_open,
                    waited,
                });
            };
            books = self.turn.wait_timeout(books, left).unpoisoned().0;
        }
    }

    /// Takes a connection back for the next request.
    pub fn put(&self, conn: C) {
        let mut books = self.lock();
        books.idle.push(conn);
        if !books.queue.is_empty() {
            self.turn.notify_all();
        }
    }

    /// Counts a lent connection as closed (it was dropped: left in a transaction, or broken).
    pub fn closed(&self) {
        let mut books = self.lock();
        books.open -= 1;
        if !books.queue.is_empty() {
            self.turn.notify_all();
        }
    }

    /// Closes the idle connections (at shutdown).
    pub fn close_idle(&self) {
        let mut books = self.lock();
        let n = books.idle.len();
        books.idle.clear();
        books.open -= n;
    }

    /// Connections open now, idle or lent.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.lock().open
    }

    /// The first of the queue has been served: let the next one look.
    fn leave_queue(&self, books: &mut Books<C>) {
        books.queue.pop_front();
        if !books.queue.is_empty() {
            self.turn.notify_all();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Books<C>> {
        self.books.lock().unpoisoned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{mpsc, Arc};

    fn never() -> Result<u32, ()> {
        unreachable!("the bound is reached: nothing new is opened")
    }

    #[test]
    fn never_more_than_the_bound_and_the_surplus_is_served_in_order() {
        let pool = Arc::new(Pool::new(2, Duration::from_secs(10), 0u32));
        let a = pool.get(never, |_| true).unwrap();
        let b = pool.get(|| Ok::<_, ()>(1), |_| true).unwrap();
        assert_eq!(pool.open(), 2);
        // Three more wait, in the order they came; each connection given back goes to the
        // oldest, which holds it until it is told to give it back.
        let (got, took) = mpsc::channel();
        let mut release = Vec::new();
        let mut threads = Vec::new();
        for i in 0..3 {
            // Each starts only once the one before is queued, so their order is known.
            while pool.lock().queue.len() < i {
                std::thread::yield_now();
            }
            let (pool, got) = (pool.clone(), got.clone());
            let (give_back, told) = mpsc::channel::<()>();
            release.push(give_back);
            threads.push(std::thread::spawn(move || {
                let conn = pool.get(never, |_| true).unwrap();
                got.send(i).unwrap();
                told.recv().unwrap();
                pool.put(conn);
            }));
        }
        while pool.lock().queue.len() < 3 {
            std::thread::yield_now();
        }
        assert_eq!(pool.open(), 2, "the surplus waits instead of opening more");
        pool.put(a);
        assert_eq!(took.recv().unwrap(), 0);
        pool.put(b);
        assert_eq!(took.recv().unwrap(), 1);
        release[0].send(()).unwrap();
        assert_eq!(took.recv().unwrap(), 2);
        for (give_back, t) in release.iter().zip(threads) {
            let _ = give_back.send(());
            t.join().unwrap();
        }
        assert_eq!(pool.open(), 2);
    }

    #[test]
    fn past_the_wait_the_database_is_busy_and_the_queue_moves_on() {
        let pool = Pool::new(1, Duration::from_millis(50), 7u32);
        let held = pool.get(never, |_| true).unwrap();
        match pool.get(never, |_| true) {
            Err(PoolError::Busy {
                max_open: 1,
                waited,
            }) => {
                assert!(waited >= Duration::from_millis(50))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            pool.lock().queue.is_empty(),
            "the one that gave up left the queue"
        );
        pool.put(held);
        assert_eq!(pool.get(never, |_| true).unwrap(), 7);
    }

    #[test]
    fn a_broken_connection_is_closed_and_replaced() {
        let pool = Pool::new(1, Duration::from_secs(1), 1u32);
        let got = pool.get(|| Ok::<_, ()>(2), |c| *c != 1).unwrap();
        assert_eq!(got, 2, "the unusable one was closed, a new one opened");
        assert_eq!(pool.open(), 1);
        pool.closed();
        assert_eq!(pool.open(), 0);
        let failed = pool.get(|| Err::<u32, _>("refused"), |_| true);
        assert!(matches!(failed, Err(PoolError::Connect("refused"))));
        assert_eq!(pool.open(), 0, "a failed open is not counted");
    }
}
