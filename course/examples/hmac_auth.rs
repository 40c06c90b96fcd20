//! Course step 5, 验证客户端的合法性: a server that lets in only the clients that hold a
//! shared key, without the key ever crossing the network.
//!
//!     cargo run -p course --example hmac_auth -- server 9007 our-secret
//!     cargo run -p course --example hmac_auth -- client 127.0.0.1:9007 our-secret 你好
//!
//! The course's way, with `hmac` and `os.urandom`: the server sends a random challenge, the
//! client answers with the HMAC of the challenge under the key, the server computes the same
//! HMAC and compares. An eavesdropper learns one challenge and its answer, which is useless,
//! because the next client gets another challenge. Done properly, as here:
//!
//! - SHA-256, not the MD5 the notes' `hmac.new(key, msg)` defaulted to;
//! - 32 random bytes from the operating system, never `random`;
//! - the comparison in constant time (`verify_slice`; Python's `hmac.compare_digest`, not
//!   `==`), so the time of a refusal says nothing about how many bytes were right.
//!
//! In miniweb the same primitive signs the framework's session cookie, proving that a cookie
//! came from the server that holds `secret_key` (the framework's signed sessions, issue 22).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the challenge, and of the answer (SHA-256's output).
const CHALLENGE_LEN: usize = 32;
const ANSWER_LEN: usize = 32;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["server", port, key] => server(port, key.as_bytes()),
        ["client", addr, key, message] => client(addr, key.as_bytes(), message),
        _ => {
            eprintln!("usage: hmac_auth server PORT KEY | hmac_auth client ADDR KEY MESSAGE");
            std::process::exit(2);
        }
    }
}

/// The HMAC-SHA256 of `challenge` under `key`.
fn answer_to(key: &[u8], challenge: &[u8]) -> [u8; ANSWER_LEN] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(challenge);
    mac.finalize().into_bytes().into()
}

fn server(port: &str, key: &[u8]) -> std::io::Result<()> {
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on {}", listener.local_addr()?);
    for conn in listener.incoming() {
        let mut conn = conn?;
        let peer = conn.peer_addr()?;
        match admit(&mut conn, key) {
            Ok(true) => {
                println!("{peer}: let in");
                let mut message = Vec::new();
                conn.read_to_end(&mut message)?;
                conn.write_all(b"welcome: ")?;
                conn.write_all(&message)?;
            }
            Ok(false) => {
                println!("{peer}: refused, wrong key");
                conn.write_all(b"refused")?;
                // Read what the client still sends before closing: closing a socket with
                // unread bytes resets it, and the client could lose "refused".
                conn.shutdown(std::net::Shutdown::Write)?;
                let _ = std::io::copy(&mut (&conn).take(64 * 1024), &mut std::io::sink());
            }
            Err(e) => println!("{peer}: left during the challenge ({e})"),
        }
    }
    Ok(())
}

/// Challenges the client on `conn`: whether its answer proves it holds `key`.
fn admit(conn: &mut TcpStream, key: &[u8]) -> std::io::Result<bool> {
    let mut challenge = [0u8; CHALLENGE_LEN];
    getrandom::getrandom(&mut challenge).map_err(std::io::Error::other)?;
    conn.write_all(&challenge)?;
    // A fixed length, so read_exact knows where the answer ends (see sticky_packets).
    let mut answer = [0u8; ANSWER_LEN];
    conn.read_exact(&mut answer)?;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(&challenge);
    // Constant time: compares every byte, whatever the first wrong one.
    Ok(mac.verify_slice(&answer).is_ok())
}

fn client(addr: &str, key: &[u8], message: &str) -> std::io::Result<()> {
    let mut conn = TcpStream::connect(addr)?;
    let mut challenge = [0u8; CHALLENGE_LEN];
    conn.read_exact(&mut challenge)?;
    conn.write_all(&answer_to(key, &challenge))?;
    // Only a server that let us in reads the message; one that refused has closed.
    let _ = conn.write_all(message.as_bytes());
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply)?;
    println!("{}", String::from_utf8_lossy(&reply));
    Ok(())
}
