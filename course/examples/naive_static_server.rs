//! Course step 9, 静态Web服务器, as the course writes it: a web server in about sixty lines.
//! It works in a browser, and every marked DEFECT is a way it is wrong; `tests/examples.rs`
//! shows each one over a real socket. Read it beside the files of `src/server/` that do each
//! thing right.
//!
//!     cargo run -p course --example naive_static_server -- 9003 static
//!     curl http://127.0.0.1:9003/hello.txt

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, root] = args.as_slice() else {
        eprintln!("usage: naive_static_server PORT ROOT");
        std::process::exit(2);
    };
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on {}", listener.local_addr()?);
    for conn in listener.incoming() {
        let root = root.clone();
        // One thread per client, as in step 4 (with step 4's defect: nothing bounds it).
        thread::spawn(move || handle(conn?, &root));
    }
    Ok(())
}

fn handle(mut conn: TcpStream, root: &str) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    // DEFECT: one recv is taken to be one whole request. A request split across packets is
    // read half, and two pipelined requests are read as one (step 2's sticky packets).
    // Right: `src/server/request.rs` reads until httparse says the head is complete.
    let n = conn.read(&mut buf)?;
    let request = String::from_utf8_lossy(&buf[..n]);
    // "GET /index.html HTTP/1.1" -> "/index.html". DEFECT: the method is never looked at:
    // POST, DELETE or anything else gets the file. Right: `src/server/static_files/mod.rs`
    // answers GET and HEAD, 405 with `Allow` otherwise.
    let path = request
        .lines()
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .unwrap_or("/");
    let path = if path == "/" { "/index.html" } else { path };
    // DEFECT: the path is glued to the root as it is: `/../secret.txt` reads a file outside
    // the root. Right: `src/server/static_files/path.rs` refuses `..`, encoded slashes and
    // NUL, resolves symlinks and checks the result is still under the root.
    let response = match fs::read(format!("{root}{path}")) {
        // DEFECT: no Content-Type (the browser must guess) and no Content-Length (the client
        // learns where the body ends only when the connection closes, so no keep-alive).
        // Right: `src/server/static_files/cache.rs` (mime_guess) and `src/server/response.rs`.
        Ok(body) => [b"HTTP/1.1 200 OK\r\n\r\n".as_slice(), &body].concat(),
        // DEFECT: every failure is a 404, a folder included, and there is no 304, no range,
        // no 400 for a malformed request. Right: `src/server/static_files/mod.rs` and the
        // table "What the server answers on its own" in the README.
        Err(_) => b"HTTP/1.1 404 Not Found\r\n\r\n<h1>404 Not Found</h1>".to_vec(),
    };
    conn.write_all(&response)
    // The connection closes here, after one request.
}
