//! Course step 8, 非阻塞 IO and IO 多路复用: one thread serving many clients, first by asking
//! every socket again and again, then by letting the system say which socket is ready.
//!
//!     cargo run -p course --example nonblocking_echo -- busy 9006
//!     cargo run -p course --example nonblocking_echo -- poll 9006
//!
//! Each client sends lines and gets each line back, as in `threaded_server`, but there is one
//! thread for all of them. Both servers print `wake-ups: N` each time a client leaves: how
//! many times the loop has run so far.
//!
//! - `busy` is the course's `setblocking(False)` server. Every call returns at once, with
//!   data or with `WouldBlock` (Python's `BlockingIOError`), so the loop never waits: with no
//!   client at all it runs millions of times a second and keeps one core at 100%.
//! - `poll` is the same server on readiness (`select`/`epoll` in the course; the `polling`
//!   crate here, which is epoll on Linux, kqueue on macOS and IOCP on Windows). `wait` sleeps
//!   in the kernel until a socket is ready, so the loop runs once per event and an idle server
//!   uses no CPU. `tests/examples.rs` counts both loops over the same exchange.
//!
//! miniweb does neither: it gives each connection a thread that blocks in `read`
//! (`src/server/acceptor.rs`, `src/server/connection.rs`), so the path of a request reads
//! top to bottom, like the course's threaded server. The cost is one context switch per
//! request (the README's "Benchmarks" measures it against nginx, which is a readiness loop
//! like `poll` here).

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use polling::{Event, Events, Poller};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (mode, port) = match args.as_slice() {
        [mode @ ("busy" | "poll"), port] => (*mode, *port),
        _ => {
            eprintln!("usage: nonblocking_echo busy|poll PORT");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on {}", listener.local_addr()?);
    // setblocking(False): accept and read return at once instead of waiting.
    listener.set_nonblocking(true)?;
    if mode == "busy" {
        busy(listener)
    } else {
        on_readiness(listener)
    }
}

/// A client: its socket and the bytes of a line not yet finished.
struct Client {
    conn: TcpStream,
    pending: Vec<u8>,
}

/// Reads what `client` has and echoes each whole line. Returns false once it has left.
fn serve(client: &mut Client) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match client.conn.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => client.pending.extend_from_slice(&buf[..n]),
            // Nothing more for now: come back later (busy) or when told (poll).
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    while let Some(end) = client.pending.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = client.pending.drain(..=end).collect();
        let mut answer = b"echo: ".to_vec();
        answer.extend_from_slice(&line);
        // A line is short, so it fits the socket's send buffer; a real server would keep
        // what does not fit and wait for the socket to be writable.
        if client.conn.write_all(&answer).is_err() {
            return false;
        }
    }
    true
}

/// The course's busy loop: try to accept, then try every client, forever.
fn busy(listener: TcpListener) -> std::io::Result<()> {
    let mut clients: Vec<Client> = Vec::new();
    let mut wake_ups: u64 = 0;
    loop {
        wake_ups += 1;
        match listener.accept() {
            Ok((conn, _)) => {
                conn.set_nonblocking(true)?;
                clients.push(Client {
                    conn,
                    pending: Vec::new(),
                });
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        let before = clients.len();
        clients.retain_mut(serve);
        if clients.len() < before {
            println!("wake-ups: {wake_ups}");
        }
    }
}

/// The listener's key in the poller; clients get the keys after it.
const LISTENER: usize = 0;

/// The same server on readiness: sleep until the system says a socket can be read.
fn on_readiness(listener: TcpListener) -> std::io::Result<()> {
    let poller = Poller::new()?;
    // SAFETY (the crate's contract): each source is deleted from the poller before it is
    // dropped; the listener lives as long as the poller.
    unsafe { poller.add(&listener, Event::readable(LISTENER))? };
    let mut clients: HashMap<usize, Client> = HashMap::new();
    let mut next_key = LISTENER + 1;
    let mut events = Events::new();
    let mut wake_ups: u64 = 0;
    loop {
        events.clear();
        // The thread sleeps here, in the kernel, until at least one socket is ready. The
        // timeout only bounds the sleep; it is not needed for correctness.
        poller.wait(&mut events, Some(Duration::from_secs(60)))?;
        wake_ups += 1;
        for event in events.iter() {
            if event.key == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            conn.set_nonblocking(true)?;
                            unsafe { poller.add(&conn, Event::readable(next_key))? };
                            clients.insert(
                                next_key,
                                Client {
                                    conn,
                                    pending: Vec::new(),
                                },
                            );
                            next_key += 1;
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                // Interest is one-shot: ask again to hear of the next client.
                poller.modify(&listener, Event::readable(LISTENER))?;
            } else if let Some(client) = clients.get_mut(&event.key) {
                if serve(client) {
                    poller.modify(&client.conn, Event::readable(event.key))?;
                } else if let Some(gone) = clients.remove(&event.key) {
                    poller.delete(&gone.conn)?;
                    println!("wake-ups: {wake_ups}");
                }
            }
        }
    }
}
