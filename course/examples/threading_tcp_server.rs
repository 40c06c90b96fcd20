//! Course step 7, socketserver: what `socketserver.ThreadingTCPServer` and
//! `BaseRequestHandler` give, in Rust. The server owns the socket and the threads; a handler
//! is a type with `handle`, made anew for each client, that sees only its own connection.
//!
//!     cargo run -p course --example threading_tcp_server -- 9008
//!
//! The course writes
//!
//! ```python
//! class MyHandler(socketserver.BaseRequestHandler):
//!     def handle(self):
//!         data = self.request.recv(1024)
//!         self.request.sendall(data.upper())
//! socketserver.ThreadingTCPServer(("127.0.0.1", 9008), MyHandler).serve_forever()
//! ```
//!
//! and here `Upper` implements `RequestHandler`, and `ThreadingTcpServer::serve_forever`
//! runs it on a thread per client. The split is the one miniweb makes with `App`
//! (`src/http/mod.rs`): the server (`src/server/acceptor.rs`) accepts and owns the threads,
//! and the application answers without knowing how the bytes arrived.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

/// `BaseRequestHandler`: one value per client, with `setup`, `handle` and `finish` called in
/// that order. `request` and `client_address` are what Python's handler has as attributes.
trait RequestHandler: Send + 'static {
    fn new(request: TcpStream, client_address: SocketAddr) -> Self;
    fn setup(&mut self) {}
    fn handle(&mut self) -> std::io::Result<()>;
    fn finish(&mut self) {}
}

/// `ThreadingTCPServer`: accepts clients, and runs a new handler for each on its own thread.
struct ThreadingTcpServer {
    listener: TcpListener,
}

impl ThreadingTcpServer {
    fn bind(addr: &str) -> std::io::Result<ThreadingTcpServer> {
        Ok(ThreadingTcpServer {
            listener: TcpListener::bind(addr)?,
        })
    }

    fn serve_forever<H: RequestHandler>(&self) -> std::io::Result<()> {
        loop {
            let (conn, peer) = self.listener.accept()?;
            thread::spawn(move || {
                let mut handler = H::new(conn, peer);
                handler.setup();
                // As in socketserver, an error in one handler ends that client, not the server.
                if let Err(e) = handler.handle() {
                    eprintln!("{peer}: {e}");
                }
                handler.finish();
            });
        }
    }
}

/// The course's handler: every line back in capitals.
struct Upper {
    request: TcpStream,
    client_address: SocketAddr,
}

impl RequestHandler for Upper {
    fn new(request: TcpStream, client_address: SocketAddr) -> Upper {
        Upper {
            request,
            client_address,
        }
    }

    fn setup(&mut self) {
        println!("{} connected", self.client_address);
    }

    fn handle(&mut self) -> std::io::Result<()> {
        let reader = BufReader::new(self.request.try_clone()?);
        for line in reader.lines() {
            let line = line?;
            writeln!(
                self.request,
                "{} says {}",
                self.client_address,
                line.to_uppercase()
            )?;
        }
        Ok(())
    }

    fn finish(&mut self) {
        println!("{} left", self.client_address);
    }
}

fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "9008".into());
    let server = ThreadingTcpServer::bind(&format!("127.0.0.1:{port}"))?;
    println!("listening on {}", server.listener.local_addr()?);
    server.serve_forever::<Upper>()
}
