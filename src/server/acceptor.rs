//! The threads that accept and serve connections. Each thread blocks in `accept`, serves the
//! one connection it got from start to end, then goes back to `accept`: one thread per live
//! connection, no hand-off between threads, and no thread created per connection while spare
//! ones wait. When the last waiting thread takes a connection it starts a new one first, so
//! that someone is always accepting.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::{connection, reject_busy, Deregister, LiveConnection, Shared};
use crate::http::App;

/// Stack size of a connection thread. A request's path through the server and the app needs
/// far less; pages are touched only as used, so an idle connection costs a few KiB.
const STACK_BYTES: usize = 256 * 1024;
/// Threads kept waiting in `accept` per listener at most; a thread that finds this many
/// already waiting exits after its connection.
const MAX_SPARE: usize = 32;

/// The threads of one listener.
pub(crate) struct Acceptors {
    listener: TcpListener,
    shared: Arc<Shared>,
    app: Arc<dyn App>,
    /// Threads in (or on their way into) `accept`.
    waiting: AtomicUsize,
}

impl Acceptors {
    /// Starts the first thread for `listener`.
    pub fn start(listener: TcpListener, shared: Arc<Shared>, app: Arc<dyn App>) -> Arc<Acceptors> {
        let pool = Arc::new(Acceptors {
            listener,
            shared,
            app,
            waiting: AtomicUsize::new(0),
        });
        pool.spawn();
        pool
    }

    /// The listening socket, for the shutdown code to wake every thread in `accept`.
    pub fn listener(&self) -> &TcpListener {
        &self.listener
    }

    fn spawn(self: &Arc<Self>) {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let pool = self.clone();
        let spawned = thread::Builder::new()
            .name("conn".into())
            .stack_size(STACK_BYTES)
            .spawn(move || pool.run());
        if let Err(e) = spawned {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            log::error!("cannot start a connection thread: {e}");
        }
    }

    fn run(self: Arc<Self>) {
        let shared = &self.shared;
        loop {
            let accepted = self.listener.accept();
            if shared.shutting_down.load(Ordering::SeqCst) {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    log::error!("accept failed: {e}");
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if self.waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
                self.spawn();
            }
            self.serve(stream, peer);
            if shared.shutting_down.load(Ordering::SeqCst)
                || self.waiting.load(Ordering::SeqCst) >= MAX_SPARE
            {
                return;
            }
            self.waiting.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Serves one connection on this thread, or answers 503 past the connection cap.
    fn serve(&self, stream: TcpStream, peer: SocketAddr) {
        let shared = &*self.shared;
        let _ = stream.set_nodelay(true);
        let stream = Arc::new(stream);
        let idle = Arc::new(AtomicBool::new(true));
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut live = shared.live();
            if live.len() >= shared.config.max_connections {
                drop(live);
                log::warn!("{peer}: connection cap reached, answering 503");
                reject_busy(&stream);
                return;
            }
            live.insert(
                id,
                LiveConnection {
                    stream: stream.clone(),
                    idle: idle.clone(),
                },
            );
        }
        let _guard = Deregister { shared, id };
        connection::serve(&stream, peer, shared, &*self.app, &idle);
    }
}
