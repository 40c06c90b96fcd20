//! Course step 6, 多线程服务器: one thread per client, and why the single-threaded server
//! blocks.
//!
//!     cargo run -p course --example threaded_server -- single 9002
//!     cargo run -p course --example threaded_server -- threaded 9002
//!
//! Each client sends lines and gets each line back. The `single` server serves one client at
//! a time: while the first client is connected (even doing nothing), the second one waits in
//! the kernel's accept queue and gets no answer. The `threaded` server hands every accepted
//! client to a new thread and goes straight back to `accept`, so clients do not wait for one
//! another.
//!
//! miniweb is a thread-per-connection server too (`src/server/acceptor.rs`), with what this
//! example leaves out: spare threads already waiting in `accept`, a connection cap, and
//! deadlines so that an idle or slow client cannot hold its thread forever
//! (`src/server/live.rs`, `src/server/request.rs`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, port) = match args.as_slice() {
        [mode, port] if mode == "single" || mode == "threaded" => (mode.as_str(), port),
        _ => {
            eprintln!("usage: threaded_server single|threaded PORT");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on {}", listener.local_addr()?);
    for conn in listener.incoming() {
        let conn = conn?;
        if mode == "single" {
            // Until this client leaves, nobody else is served.
            echo_lines(conn);
        } else {
            // The thread owns the socket; the loop goes back to accept at once.
            thread::spawn(move || echo_lines(conn));
        }
    }
    Ok(())
}

/// Answers each line a client sends until it disconnects.
fn echo_lines(conn: TcpStream) {
    let peer = conn.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    for line in BufReader::new(conn).lines() {
        let Ok(line) = line else { break };
        if writeln!(writer, "echo: {line}").is_err() {
            break;
        }
    }
    println!("{peer} left");
}
