//! Course step 4, UDP: datagrams, not a stream.
//!
//!     cargo run -p course --example udp_echo -- server 9001
//!     cargo run -p course --example udp_echo -- client 127.0.0.1:9001 你好 世界
//!
//! There is no connection: the server binds and answers whoever sent each datagram
//! (`recvfrom`/`sendto` in Python, `recv_from`/`send_to` here). Each `send_to` arrives as one
//! datagram, whole or not at all, so UDP has no sticky packets, but also no delivery or
//! order guarantee. HTTP/1.1, and so miniweb, runs on TCP.

use std::net::UdpSocket;
use std::time::Duration;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") if args.len() == 2 => server(&args[1]),
        Some("client") if args.len() >= 3 => client(&args[1], &args[2..]),
        _ => {
            eprintln!("usage: udp_echo server PORT | udp_echo client ADDR MESSAGE...");
            std::process::exit(2);
        }
    }
}

fn server(port: &str) -> std::io::Result<()> {
    let socket = UdpSocket::bind(format!("127.0.0.1:{port}"))?;
    println!("listening on {}", socket.local_addr()?);
    let mut buf = [0u8; 1500];
    loop {
        let (n, from) = socket.recv_from(&mut buf)?;
        let text = String::from_utf8_lossy(&buf[..n]);
        println!("{from} sent a datagram of {n} bytes: {text}");
        socket.send_to(format!("echo: {text}").as_bytes(), from)?;
    }
}

fn client(addr: &str, messages: &[String]) -> std::io::Result<()> {
    // Port 0: any free port, so that the server has an address to answer.
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    for message in messages {
        socket.send_to(message.as_bytes(), addr)?;
    }
    let mut buf = [0u8; 1500];
    // One recv per datagram: the boundaries survive.
    for _ in messages {
        let (n, _) = socket.recv_from(&mut buf)?;
        println!("{}", String::from_utf8_lossy(&buf[..n]));
    }
    Ok(())
}
