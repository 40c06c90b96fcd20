//! Course step 3, 文件传输: a file sent over TCP with a header in front, so that the
//! receiver knows where the file ends (the answer to 粘包 for files), and a checksum to prove
//! it arrived whole.
//!
//!     cargo run -p course --example file_transfer -- send 9009 Cargo.toml
//!     cargo run -p course --example file_transfer -- receive 127.0.0.1:9009 /tmp/inbox
//!
//! The course packs the header's length with `struct.pack("i", len)`, sends a JSON header
//! (`{"filename": …, "filesize": …, "md5": …}`), then the file; the receiver unpacks four
//! bytes, reads that much header, then reads exactly `filesize` bytes and compares the MD5.
//! Here the length is four bytes in network order (`struct.pack("!I", …)`; the notes' `"i"`
//! is the machine's order, which two machines need not share), the header is three lines
//! (name, size, SHA-256 in hex), and the receiver:
//!
//! - bounds the header's length before allocating it, and the file's size by what it reads;
//! - keeps only the last component of the sender's name, so `../../etc/passwd` cannot choose
//!   where the file goes;
//! - writes to a temporary name and renames it only once the checksum matches, so a broken
//!   transfer leaves nothing behind.
//!
//! miniweb sends files with `sendfile(2)` and frames them with `Content-Length`
//! (`src/server/sender.rs`, `src/server/response.rs`), and its ranges let a client resume
//! (`src/server/static_files/range.rs`).

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

use sha2::{Digest, Sha256};

/// No honest header is longer: a name, a size and 64 hex digits.
const MAX_HEADER: u32 = 4096;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["send", port, file] => send(port, Path::new(file)),
        ["receive", addr, folder] => receive(addr, Path::new(folder)),
        _ => {
            eprintln!("usage: file_transfer send PORT FILE | file_transfer receive ADDR FOLDER");
            std::process::exit(2);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of everything `reader` yields, read in blocks.
fn sha256_of(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut block = [0u8; 64 * 1024];
    loop {
        match reader.read(&mut block)? {
            0 => return Ok(hex(&hasher.finalize())),
            n => hasher.update(&block[..n]),
        }
    }
}

/// Serves `file` to every client that connects.
fn send(port: &str, file: &Path) -> std::io::Result<()> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| std::io::Error::other("the file needs a name in UTF-8"))?;
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on {}", listener.local_addr()?);
    for conn in listener.incoming() {
        let mut conn = conn?;
        let size = std::fs::metadata(file)?.len();
        let digest = sha256_of(BufReader::new(File::open(file)?))?;
        let header = format!("{name}\n{size}\n{digest}\n");
        // struct.pack("!I", len(header)): four bytes, most significant first.
        let len = u32::try_from(header.len()).map_err(std::io::Error::other)?;
        conn.write_all(&len.to_be_bytes())?;
        conn.write_all(header.as_bytes())?;
        // The file itself, in blocks; its end is where `size` says.
        let sent = std::io::copy(&mut File::open(file)?.take(size), &mut conn)?;
        println!("sent {name}: {sent} bytes");
    }
    Ok(())
}

/// Receives one file from `addr` into `folder`.
fn receive(addr: &str, folder: &Path) -> std::io::Result<()> {
    let mut conn = TcpStream::connect(addr)?;
    let mut len = [0u8; 4];
    conn.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_HEADER {
        return Err(std::io::Error::other(format!("a header of {len} bytes")));
    }
    let mut header = vec![0u8; len as usize];
    conn.read_exact(&mut header)?;
    let header = String::from_utf8(header).map_err(std::io::Error::other)?;
    let bad = || std::io::Error::other(format!("a malformed header: {header:?}"));
    let mut fields = header.lines();
    let (Some(name), Some(size), Some(digest)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(bad());
    };
    let size: u64 = size.parse().map_err(|_| bad())?;
    // Only the last component, and never a hidden or empty one.
    let name = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.starts_with('.'))
        .ok_or_else(bad)?;

    let partial = folder.join(format!(".{name}.part"));
    let result = (|| {
        let mut out = File::create(&partial)?;
        // Exactly `size` bytes: what follows, if anything, is not this file's.
        let got = std::io::copy(&mut (&mut conn).take(size), &mut out)?;
        if got != size {
            return Err(std::io::Error::other(format!(
                "the sender stopped after {got} of {size} bytes"
            )));
        }
        out.sync_all()?;
        let received = sha256_of(BufReader::new(File::open(&partial)?))?;
        if received != digest {
            return Err(std::io::Error::other("the checksum does not match"));
        }
        std::fs::rename(&partial, folder.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result?;
    println!("received {name}: {size} bytes, sha256 {digest} matches");
    Ok(())
}
