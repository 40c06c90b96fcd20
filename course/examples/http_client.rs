//! Course step 13, the `requests` client: what the notes do with `requests.get` and
//! `requests.post`, written on a `TcpStream`, to see what HTTP looks like from the other side.
//!
//!     cargo run -p course --example http_client -- get http://127.0.0.1:8080/index.html q=茅台 -H "Accept: application/json"
//!     cargo run -p course --example http_client -- post-form http://127.0.0.1:8080/update/000036.html note=hi
//!     cargo run -p course --example http_client -- post-json http://127.0.0.1:8080/api '{"a": 1}'
//!     cargo run -p course --example http_client -- download http://127.0.0.1:8080/css/main.css main.css --timeout 5
//!
//! | `requests` | here |
//! |---|---|
//! | `requests.get(url, params={…}, headers={…})` | `get URL name=value … -H "Name: value"` |
//! | `requests.post(url, data={…})` | `post-form URL name=value …` |
//! | `requests.post(url, json=…)` | `post-json URL JSON` |
//! | `timeout=5` | `--timeout 5` (connecting, and each read) |
//! | `stream=True` + `iter_content` into a file | `download URL FILE` |
//! | `r.status_code`, `r.headers`, `r.text` | printed: the status line, the headers, the body |
//!
//! What a real client library adds, and why one is used in practice: TLS, redirects,
//! connections kept alive and pooled, proxies, cookies, decompression, IPv6 and DNS with
//! fallbacks, `Expect: 100-continue`, and many malformed servers handled gracefully. The
//! server's side of each exchange is `src/server/head.rs` (reading the head),
//! `src/server/framing.rs` and `src/server/body.rs` (`Content-Length` and chunked bodies),
//! and `src/server/response.rs`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("http_client: {e}");
            std::process::exit(1);
        }
    }
}

type Error = Box<dyn std::error::Error>;

/// What the command line asks for.
struct Call {
    method: &'static str,
    url: String,
    /// `name=value` arguments: the query of a GET, the form of a POST.
    pairs: Vec<(String, String)>,
    headers: Vec<String>,
    body: Option<(&'static str, Vec<u8>)>,
    download_to: Option<String>,
    timeout: Duration,
}

fn run(args: &[String]) -> Result<(), Error> {
    let usage = "usage: http_client get|post-form|post-json|download URL [name=value | JSON | FILE]… [-H 'Name: value'] [--timeout SECS]";
    let (verb, rest) = args.split_first().ok_or(usage)?;
    let mut call = Call {
        method: "GET",
        url: String::new(),
        pairs: Vec::new(),
        headers: Vec::new(),
        body: None,
        download_to: None,
        timeout: Duration::from_secs(10),
    };
    let mut plain = Vec::new();
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-H" => call.headers.push(rest.next().ok_or(usage)?.clone()),
            "--timeout" => {
                call.timeout = Duration::from_secs_f64(rest.next().ok_or(usage)?.parse()?)
            }
            _ => plain.push(arg.clone()),
        }
    }
    let (url, extra) = plain.split_first().ok_or(usage)?;
    call.url = url.clone();
    let pairs = || -> Result<Vec<(String, String)>, Error> {
        extra
            .iter()
            .map(|p| match p.split_once('=') {
                Some((n, v)) => Ok((n.to_string(), v.to_string())),
                None => Err(format!("{p:?} is not name=value").into()),
            })
            .collect()
    };
    match verb.as_str() {
        "get" => call.pairs = pairs()?,
        "post-form" => {
            call.method = "POST";
            let form = urlencode(&pairs()?);
            call.body = Some(("application/x-www-form-urlencoded", form.into_bytes()));
        }
        "post-json" => {
            call.method = "POST";
            let [json] = extra else {
                return Err(usage.into());
            };
            call.body = Some(("application/json", json.clone().into_bytes()));
        }
        "download" => {
            let [file] = extra else {
                return Err(usage.into());
            };
            call.download_to = Some(file.clone());
        }
        _ => return Err(usage.into()),
    }
    send(&call)
}

/// `application/x-www-form-urlencoded`: each byte outside the unreserved set as `%XX`.
fn urlencode(pairs: &[(String, String)]) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn send(call: &Call) -> Result<(), Error> {
    // http://host:port/path?query; https would need TLS, which is a library's job.
    let rest = call
        .url
        .strip_prefix("http://")
        .ok_or("only http:// URLs: TLS is what a client library adds")?;
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut target = target.to_string();
    if !call.pairs.is_empty() {
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&urlencode(&call.pairs));
    }
    let with_port = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()?
        .next()
        .ok_or("the host has no address")?;
    let mut conn = TcpStream::connect_timeout(&addr, call.timeout)?;
    // A read that waits longer than this fails with TimedOut: requests' `timeout`.
    conn.set_read_timeout(Some(call.timeout))?;

    // The request: a line, headers, an empty line, the body. Connection: close makes the end
    // of the answer simple to find for a body without a length.
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: course-http-client\r\nConnection: close\r\n",
        call.method
    );
    for header in &call.headers {
        if header.contains(['\r', '\n']) {
            return Err(format!("a header may not hold a line break: {header:?}").into());
        }
        head.push_str(header);
        head.push_str("\r\n");
    }
    if let Some((content_type, body)) = &call.body {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    if let Some((_, body)) = &call.body {
        conn.write_all(body)?;
    }

    let mut reader = BufReader::new(conn);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let mut length = None;
    let mut chunked = false;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err("the server closed before the end of the head".into());
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<u64>()?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        headers.push(line);
    }
    let body: Box<dyn Read> = if chunked {
        Box::new(Chunked::new(reader))
    } else if let Some(n) = length {
        Box::new(reader.take(n))
    } else {
        Box::new(reader)
    };

    match &call.download_to {
        // stream=True: the body goes to the file as it arrives, never whole in memory.
        Some(file) => {
            let mut out = File::create(file)?;
            let n = std::io::copy(&mut { body }, &mut out)?;
            if let Some(expected) = length.filter(|&e| e != n) {
                return Err(format!("got {n} of {expected} bytes").into());
            }
            println!("{}", status.trim_end());
            println!("saved {n} bytes to {file}");
        }
        None => {
            let mut text = Vec::new();
            { body }.read_to_end(&mut text)?;
            println!("{}", status.trim_end());
            for header in headers {
                println!("{header}");
            }
            println!();
            println!("{}", String::from_utf8_lossy(&text));
        }
    }
    Ok(())
}

/// A chunked body decoded: each chunk is its size in hex, a line break, the bytes and a line
/// break; a chunk of size 0 ends it.
struct Chunked<R> {
    inner: R,
    left: u64,
    done: bool,
}

impl<R: BufRead> Chunked<R> {
    fn new(inner: R) -> Self {
        Chunked {
            inner,
            left: 0,
            done: false,
        }
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        while self.left == 0 && !self.done {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            let size = line.trim_end().split(';').next().unwrap_or("");
            if size.is_empty() {
                continue; // the line break after the previous chunk's bytes
            }
            self.left = u64::from_str_radix(size, 16).map_err(|_| bad("a bad chunk size"))?;
            self.done = self.left == 0;
        }
        if self.done {
            return Ok(0);
        }
        let most = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..most])?;
        if n == 0 {
            return Err(bad("the body ended inside a chunk"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
