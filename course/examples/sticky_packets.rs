//! Course step 2, 粘包 (sticky packets): TCP is a stream of bytes, not of messages.
//!
//!     cargo run -p course --example sticky_packets
//!
//! A client sends three messages with three `send`s; a server that is a little slow to read
//! gets all of them from one `recv`, stuck together, and cannot tell where one ends. The
//! cure is framing: say how long each message is before it. Here each message is a 4-byte
//! big-endian length, then the bytes; a whole file goes the same way. HTTP frames its own
//! messages with a blank line after the head and `Content-Length` (or chunked encoding) for
//! the body: see `src/server/request.rs` and `src/server/body.rs`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    naive()?;
    framed()?;
    Ok(())
}

/// Three sends, one recv: the messages arrive glued together.
fn naive() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let client = thread::spawn(move || -> std::io::Result<()> {
        let mut conn = TcpStream::connect(addr)?;
        for message in ["hello", "world", "!"] {
            conn.write_all(message.as_bytes())?;
        }
        Ok(())
    });
    let (mut conn, _) = listener.accept()?;
    // A busy server reads a moment later; by then all three messages have arrived.
    thread::sleep(Duration::from_millis(200));
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf)?;
    println!(
        "naive: 3 sends, one recv got {:?}: where does each message end?",
        String::from_utf8_lossy(&buf[..n])
    );
    client.join().expect("client thread")?;
    Ok(())
}

/// Sends one message: its length as 4 bytes (big-endian), then its bytes.
fn send_frame(conn: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(payload.len()).expect("a frame is under 4 GiB");
    conn.write_all(&len.to_be_bytes())?;
    conn.write_all(payload)
}

/// Receives one message sent by `send_frame`: exactly 4 bytes of length, then exactly that
/// many bytes, however the stream happens to be cut into reads.
fn recv_frame(conn: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    conn.read_exact(&mut len)?;
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    conn.read_exact(&mut payload)?;
    Ok(payload)
}

/// The same three messages, and a 100 KB "file", with a length prefix: each arrives whole.
fn framed() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let file: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let sent = file.clone();
    let client = thread::spawn(move || -> std::io::Result<()> {
        let mut conn = TcpStream::connect(addr)?;
        for message in ["hello", "world", "!"] {
            send_frame(&mut conn, message.as_bytes())?;
        }
        send_frame(&mut conn, &sent)
    });
    let (mut conn, _) = listener.accept()?;
    thread::sleep(Duration::from_millis(200));
    let messages: Vec<String> = (0..3)
        .map(|_| recv_frame(&mut conn).map(|m| String::from_utf8_lossy(&m).into_owned()))
        .collect::<Result<_, _>>()?;
    println!("framed: 3 messages {messages:?}");
    let received = recv_frame(&mut conn)?;
    println!(
        "framed: file of {} bytes received whole: {}",
        received.len(),
        received == file
    );
    client.join().expect("client thread")?;
    Ok(())
}
