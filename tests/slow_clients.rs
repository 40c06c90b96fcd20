//! Clients that hold connections without making progress: every phase of a connection has a
//! deadline, and at the connection cap the server reclaims idle and slow connections before it
//! refuses anyone. Small scale (a cap of 8, a dozen attackers, timeouts of a second or two);
//! `bench/slow_clients.py` runs the same attacks at full scale beside nginx.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Client, InProcess};
use miniweb::http::{Request, Response};
use miniweb::server::{Server, ServerConfig};

fn ok(_: &Request) -> Response {
    Response::text(200, "ok")
}

/// A server with every folder feature on (`common::every_feature`), then `tweak`.
fn start(app: impl miniweb::http::App, tweak: impl FnOnce(&mut ServerConfig)) -> InProcess {
    InProcess::start(app, |c| {
        common::every_feature(c);
        tweak(c)
    })
}

/// Deadlines of a second, so that tests reach them quickly.
fn short(c: &mut ServerConfig) {
    c.header_timeout = Duration::from_secs(1);
    c.idle_timeout = Duration::from_secs(30);
    c.body_timeout = Duration::from_secs(1);
    c.send_timeout = Duration::from_secs(1);
    c.linger_timeout = Duration::from_secs(1);
}

/// Writes `piece` every `every` on its own thread until the write fails or `limit` passes.
fn trickle(stream: &TcpStream, piece: &'static [u8], every: Duration, limit: Duration) {
    let mut s = stream.try_clone().unwrap();
    thread::spawn(move || {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            thread::sleep(every);
            if s.write_all(piece).is_err() {
                return;
            }
        }
    });
}

#[test]
fn a_connection_that_sends_nothing_is_closed_quietly_at_the_header_timeout() {
    let s = start(ok, short);
    let mut c = s.client();
    let got = c.read_to_close(Duration::from_secs(5));
    assert_eq!(got.as_deref(), Some(&b""[..]), "closed without a word");
}

#[test]
fn a_head_or_body_trickled_in_gets_408_at_its_deadline() {
    let cases: [(&[u8], &'static [u8]); 2] = [
        (b"GET /a.html HTTP/1.1\r\nHost: t\r\n", b"X-Slow: yes\r\n"),
        (
            b"POST /a.html HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n",
            b"x",
        ),
    ];
    let s = start(ok, short);
    for (start, piece) in cases {
        let mut c = s.client();
        c.send(start);
        trickle(
            &c.stream,
            piece,
            Duration::from_millis(200),
            Duration::from_secs(10),
        );
        let r = c.read_response(false);
        assert_eq!(r.status, 408, "{}", String::from_utf8_lossy(start));
        assert!(c.read_to_close(Duration::from_secs(5)).is_some());
    }
}

#[test]
fn a_body_that_keeps_its_pace_outlives_the_body_timeout() {
    let s = start(
        |req: &Request| Response::text(200, req.body.len().to_string()),
        short,
    );
    let mut c = s.client();
    c.send(b"POST /a.html HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\n");
    // 4 KB every 100 ms: 1.5 s in all, past the 1 s grace, at 40 KB/s, far above 500 B/s.
    for _ in 0..15 {
        thread::sleep(Duration::from_millis(100));
        c.send(&[b'x'; 4000]);
    }
    let r = c.read_response(false);
    assert_eq!((r.status, r.text()), (200, "60000".to_string()));
}

#[test]
fn a_client_that_stops_reading_is_cut_after_the_send_timeout() {
    let s = start(ok, short);
    // Far more than socket buffers hold; sparse, so it costs no disk.
    let file = std::fs::File::create(s.root.path().join("huge.bin")).unwrap();
    file.set_len(256 << 20).unwrap();
    let mut c = s.client();
    c.send(&b"GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n".repeat(4));
    thread::sleep(Duration::from_secs(3));
    let got = c
        .read_to_close(Duration::from_secs(10))
        .expect("the server closed the connection");
    assert!(
        got.len() < 256 << 20,
        "{} bytes: the response should have been cut",
        got.len()
    );
}

#[test]
fn a_lingering_close_ends_though_the_client_keeps_sending() {
    let s = start(ok, short);
    let mut c = s.client();
    c.send(b"GARBAGE\r\n\r\n");
    trickle(
        &c.stream,
        b"x",
        Duration::from_millis(100),
        Duration::from_secs(20),
    );
    assert_eq!(c.read_response(false).status, 400);
    assert!(
        c.read_to_close(Duration::from_secs(8)).is_some(),
        "lingering must end after linger_timeout"
    );
}

#[test]
fn at_the_cap_an_idle_connection_makes_room() {
    let s = start(ok, |c| c.max_connections = common::nonzero(2));
    let mut idle: Vec<Client> = (0..2)
        .map(|_| {
            let mut c = s.client();
            assert_eq!(c.exchange("GET", "/a.html", &[], b"").status, 200);
            c
        })
        .collect();
    let mut third = s.client();
    assert_eq!(third.exchange("GET", "/b.html", &[], b"").status, 200);
    let closed = idle
        .iter_mut()
        .map(|c| c.closed_within(Duration::from_millis(500)))
        .filter(|&closed| closed)
        .count();
    assert_eq!(closed, 1, "the longest idle connection made room");
}

/// Holds the app's `/block.html` requests until opened, counting them.
#[derive(Default)]
struct Gate {
    /// (open, requests held)
    state: Mutex<(bool, usize)>,
    changed: Condvar,
}

impl Gate {
    /// Waits until the app holds `n` requests (10 s at most).
    fn wait_held(&self, n: usize) {
        let state = self.state.lock().unwrap();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, Duration::from_secs(10), |s| s.1 < n)
            .unwrap();
        assert!(state.1 >= n, "the app holds {} of {n} requests", state.1);
    }

    fn open(&self) {
        self.state.lock().unwrap().0 = true;
        self.changed.notify_all();
    }
}

/// An app whose `/block.html` waits until the gate opens (10 s at most).
fn gated() -> (impl Fn(&Request) -> Response + Send + Sync, Arc<Gate>) {
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    let app = move |req: &Request| {
        if req.path == "/block.html" {
            let mut state = g.state.lock().unwrap();
            state.1 += 1;
            g.changed.notify_all();
            let _ = g
                .changed
                .wait_timeout_while(state, Duration::from_secs(10), |s| !s.0);
        }
        Response::text(200, "ok")
    };
    (app, gate)
}

/// Starts `n` more requests to `/block.html` and waits until the app holds `total`.
fn block(s: &InProcess, gate: &Gate, n: usize, total: usize) -> Vec<Client> {
    let clients = (0..n)
        .map(|_| {
            let mut c = s.client();
            c.send_request("GET", "/block.html", &[], b"");
            c
        })
        .collect();
    gate.wait_held(total);
    clients
}

#[test]
fn connections_the_server_works_for_are_never_reclaimed_and_the_next_client_gets_503() {
    let (app, gate) = gated();
    let s = start(app, |c| c.max_connections = common::nonzero(2));
    // Both places are taken by requests the app is working on: nothing can be reclaimed.
    let mut busy = block(&s, &gate, 2, 2);
    let mut extra = s.client();
    let r = extra.exchange("GET", "/extra.html", &[], b"");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("Retry-After"), Some("1"));
    gate.open();
    for c in &mut busy {
        assert_eq!(c.read_response(false).status, 200);
    }
}

#[test]
fn a_client_waiting_for_room_gets_in_when_a_connection_ends() {
    let (app, gate) = gated();
    let s = start(app, |c| c.max_connections = common::nonzero(1));
    let mut busy = block(&s, &gate, 1, 1);
    let mut waiting = s.client();
    waiting.send_request("GET", "/next.html", &[("Connection", "close")], b"");
    // Neither answered nor refused while it waits for room.
    assert!(!waiting.closed_within(Duration::from_millis(300)));
    gate.open();
    assert_eq!(busy[0].read_response(false).status, 200);
    drop(busy);
    assert_eq!(waiting.read_response(false).status, 200);
}

#[test]
fn the_per_address_limit_reclaims_that_address_idle_connections_then_refuses() {
    let (app, gate) = gated();
    let s = start(app, |c| c.max_connections_per_ip = Some(common::nonzero(2)));
    let mut idle = s.client();
    assert_eq!(idle.exchange("GET", "/a.html", &[], b"").status, 200);
    let mut busy = block(&s, &gate, 1, 1);
    // Two from this address: the idle one goes for the third.
    let mut third = block(&s, &gate, 1, 2);
    assert!(idle.closed_within(Duration::from_secs(2)));
    // Two busy from this address: a fourth is refused although the cap is far away.
    let mut fourth = s.client();
    assert_eq!(fourth.exchange("GET", "/d.html", &[], b"").status, 503);
    gate.open();
    assert_eq!(busy[0].read_response(false).status, 200);
    assert_eq!(third[0].read_response(false).status, 200);
}

/// The ways an attacker holds a connection.
#[derive(Clone, Copy, Debug)]
enum Attack {
    /// Connects and sends nothing.
    Silent,
    /// A header line every 200 ms, never the end of the head.
    Slowloris,
    /// A body of 50,000 bytes announced, a byte every 200 ms.
    SlowBody,
    /// Four pipelined requests for a large file, never read.
    SlowRead,
    /// A malformed head, then a byte every 200 ms into the lingering close.
    Linger,
}

/// Attacks `addr` until `stop`, reconnecting at once whenever cut; returns the connections
/// made.
fn attacker(addr: SocketAddr, kind: Attack, stop: Arc<AtomicBool>) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut made = 0;
        while !stop.load(Ordering::SeqCst) {
            let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
                thread::sleep(Duration::from_millis(20));
                continue;
            };
            made += 1;
            let (first, then): (&[u8], &[u8]) = match kind {
                Attack::Silent => (b"", b""),
                Attack::Slowloris => (b"GET /a.html HTTP/1.1\r\nHost: t\r\n", b"X-a: b\r\n"),
                Attack::SlowBody => (
                    b"POST /a.html HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n",
                    b"x",
                ),
                Attack::SlowRead => (
                    b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n",
                    b"\r\n",
                ),
                Attack::Linger => (b"GARBAGE\r\n\r\n", b"x"),
            };
            if s.write_all(first).is_err() {
                continue;
            }
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            while !stop.load(Ordering::SeqCst) {
                let cut = match kind {
                    // Reading would be progress: a write finds the closed connection instead.
                    Attack::SlowRead => {
                        thread::sleep(Duration::from_millis(200));
                        s.write_all(then).is_err()
                    }
                    _ => {
                        let mut b = [0u8; 4096];
                        let closed = match s.read(&mut b) {
                            Ok(0) => true,
                            Ok(_) => false,
                            Err(e) => !matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ),
                        };
                        closed || (!then.is_empty() && s.write_all(then).is_err())
                    }
                };
                if cut {
                    break;
                }
            }
        }
        made
    })
}

#[test]
fn at_the_cap_slow_clients_make_room_for_ordinary_ones() {
    let s = start(ok, |c| {
        c.max_connections = common::nonzero(8);
        c.header_timeout = Duration::from_secs(30);
        c.body_timeout = Duration::from_secs(30);
        c.send_timeout = Duration::from_secs(30);
        c.linger_timeout = Duration::from_secs(30);
    });
    let stop = Arc::new(AtomicBool::new(false));
    let kinds = [
        Attack::Silent,
        Attack::Slowloris,
        Attack::SlowBody,
        Attack::SlowRead,
        Attack::Linger,
    ];
    let attackers: Vec<_> = kinds
        .iter()
        .cycle()
        .take(13)
        .map(|&k| attacker(s.addr, k, stop.clone()))
        .collect();
    // Let the attack fill the cap, and the slow readers stall.
    thread::sleep(Duration::from_millis(1500));
    let mut statuses = Vec::new();
    for i in 0..10 {
        let mut c = s.client();
        statuses.push(
            c.exchange("GET", &format!("/ordinary{i}.html"), &[], b"")
                .status,
        );
        thread::sleep(Duration::from_millis(150));
    }
    stop.store(true, Ordering::SeqCst);
    let made: usize = attackers.into_iter().map(|a| a.join().unwrap()).sum();
    assert_eq!(statuses, vec![200; 10], "every ordinary client was served");
    // Deadlines were 30 s: attackers were cut to make room, and came back.
    assert!(
        made > 13,
        "attackers were never reclaimed ({made} connections)"
    );
    let mut after = s.client();
    assert_eq!(after.exchange("GET", "/after.html", &[], b"").status, 200);
}

#[test]
fn the_listen_backlog_holds_hundreds_of_simultaneous_connects() {
    let root = tempfile::tempdir().unwrap();
    let mut config = common::test_config(root.path());
    config.listen_backlog = 1024;
    // Bound but never accepting: every connection waits in the kernel's queue.
    let server = Server::bind(&["127.0.0.1:0".parse().unwrap()], config).unwrap();
    let addr = server.local_addrs()[0];
    let conns: Vec<TcpStream> = (0..300)
        .map(|i| {
            TcpStream::connect_timeout(&addr, Duration::from_millis(900))
                .unwrap_or_else(|e| panic!("connect {i} dropped ({e}): backlog too small"))
        })
        .collect();
    assert_eq!(conns.len(), 300);
}
