//! Course step 1, TCP 套接字: a TCP server and client with nothing but the standard library.
//!
//!     cargo run -p course --example tcp_echo -- server 9000        # bind, listen, accept, recv, send
//!     cargo run -p course --example tcp_echo -- client 127.0.0.1:9000 你好
//!
//! Python's `socket.socket(AF_INET, SOCK_STREAM)`, `bind`, `listen(128)`, `accept()`,
//! `recv(1024)` and `send` are, in Rust, `TcpListener::bind` (which binds and listens),
//! `accept`, `read` and `write_all`. Sockets carry bytes: text is encoded to UTF-8 bytes before
//! sending (`str.encode()` in Python, `as_bytes()` here) and decoded after receiving
//! (`bytes.decode()`, `String::from_utf8`).
//!
//! Where miniweb does this for real: `src/server/mod.rs` (bind, listen backlog) and
//! `src/server/acceptor.rs` (accept).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["server", port] => server(port),
        ["client", addr, message] => client(addr, message),
        _ => {
            eprintln!("usage: tcp_echo server PORT | tcp_echo client ADDR MESSAGE");
            std::process::exit(2);
        }
    }
}

fn server(port: &str) -> std::io::Result<()> {
    // bind + listen in one call; port 0 lets the system choose a free port.
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        // accept() waits for a client and gives a new socket just for it.
        let (mut conn, peer) = listener.accept()?;
        let mut buf = [0u8; 1024];
        // recv(1024): at most 1024 bytes, however many the client sent (see sticky_packets).
        let n = conn.read(&mut buf)?;
        // Bytes to text: invalid UTF-8 is shown with replacement characters, not a crash.
        let text = String::from_utf8_lossy(&buf[..n]);
        println!("{peer} sent {n} bytes: {text}");
        // Text to bytes, and back to the client.
        conn.write_all(format!("echo: {text}").as_bytes())?;
        // Dropping `conn` closes this client's socket; the listener goes on.
    }
}

fn client(addr: &str, message: &str) -> std::io::Result<()> {
    let mut conn = TcpStream::connect(addr)?;
    conn.write_all(message.as_bytes())?;
    // Tell the server we are done sending, then read its answer to the end.
    conn.shutdown(std::net::Shutdown::Write)?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer)?;
    println!("{}", String::from_utf8_lossy(&answer));
    Ok(())
}
