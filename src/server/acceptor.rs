//! The threads that accept and serve connections. Each thread blocks in `accept`, serves the
//! one connection it got from start to end, then goes back to `accept`: one thread per live
//! connection, no hand-off between threads, and no thread created per connection while spare
//! ones wait. When the last waiting thread takes a connection it starts a new one first, so
//! that someone is always accepting.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::activity::Activity;
use super::connection::{self, Listening};
use super::live::LiveConnection;
use super::response;
use super::state::ServerState;
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
    listening: Listening,
    state: Arc<ServerState>,
    app: Arc<dyn App>,
    /// Threads in (or on their way into) `accept`.
    waiting: AtomicUsize,
}

impl Acceptors {
    /// Starts the first thread for `listener`.
    pub fn start(
        listener: TcpListener,
        listening: Listening,
        state: Arc<ServerState>,
        app: Arc<dyn App>,
    ) -> Arc<Acceptors> {
        let pool = Arc::new(Acceptors {
            listener,
            listening,
            state,
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
        let live = &self.state.live;
        loop {
            let accepted = self.listener.accept();
            if live.is_shutting_down() {
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
            if live.is_shutting_down() || self.waiting.load(Ordering::SeqCst) >= MAX_SPARE {
                return;
            }
            self.waiting.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Serves one connection on this thread once it is admitted under the caps (which may
    /// close an idle or slow connection to make room), or answers 503.
    fn serve(&self, stream: TcpStream, peer: SocketAddr) {
        let accepted = Instant::now();
        let state = &*self.state;
        let _ = stream.set_nodelay(true);
        let stream = Arc::new(stream);
        let activity = Arc::new(Activity::new());
        let conn = LiveConnection {
            stream: stream.clone(),
            activity: activity.clone(),
            peer,
        };
        // Held until the connection ends: dropping it gives the place back.
        let _admitted = match state.live.admit(conn, state.caps_for(peer)) {
            Ok(admitted) => admitted,
            Err(cap) => {
                log::warn!("{peer}: {cap} reached and no connection to reclaim, answering 503");
                // A TLS client would read the 503 as a broken record: it is only closed.
                if self.listening == Listening::Https {
                    let _ = stream.shutdown(Shutdown::Both);
                } else {
                    reject_busy(&stream, state);
                }
                return;
            }
        };
        let served = connection::Accepted {
            peer,
            at: accepted,
            state,
            app: &*self.app,
            activity: &activity,
        };
        connection::serve(&stream, &served, self.listening);
    }
}

/// Answers a connection the server has no room for, without giving it a thread.
fn reject_busy(stream: &TcpStream, state: &ServerState) {
    let resp = state
        .error_pages
        .for_status(503)
        .with_header("Retry-After", "1");
    let mut out = Vec::with_capacity(512);
    response::write_head(&mut out, &resp, Some("close"));
    out.extend_from_slice(resp.body.as_bytes().unwrap_or_default());
    // One attempt, never blocking: a slow client must not hold up the accept loop.
    let _ = stream.set_nonblocking(true);
    let _ = (&*stream).write(&out);
    let _ = stream.shutdown(Shutdown::Write);
}
