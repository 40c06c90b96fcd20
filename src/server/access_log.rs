//! The access log: one line per request in the Combined Log Format, plus the time taken.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Instant;

use super::date;
use crate::http::{Headers, Version};

/// What the access log records of one exchange.
pub(crate) struct Entry<'a> {
    pub peer: SocketAddr,
    /// Method, target and version, when the request line could be parsed.
    pub request: Option<(&'a str, &'a str, Version)>,
    pub headers: Option<&'a Headers>,
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// When the request began to arrive.
    pub started: Instant,
}

/// Writes `entry` at info level under the target `access`, so that
/// `RUST_LOG=access=off` silences it alone.
pub(crate) fn log(entry: &Entry<'_>) {
    if !log::log_enabled!(target: "access", log::Level::Info) {
        return;
    }
    let mut line = String::with_capacity(200);
    let _ = write!(line, "{} - - [", entry.peer.ip());
    date::with_now(|d| line.push_str(&date::clf(d)));
    line.push_str("] \"");
    match entry.request {
        Some((method, target, version)) => {
            escaped(&mut line, method);
            line.push(' ');
            escaped(&mut line, target);
            let _ = write!(line, " {version}");
        }
        None => line.push('-'),
    }
    let _ = write!(line, "\" {} {} \"", entry.status, entry.bytes);
    let header = |name| entry.headers.and_then(|h| h.get(name)).unwrap_or("-");
    escaped(&mut line, header("Referer"));
    line.push_str("\" \"");
    escaped(&mut line, header("User-Agent"));
    let ms = entry.started.elapsed().as_secs_f64() * 1000.0;
    let _ = write!(line, "\" {ms:.3}ms");
    log::info!(target: "access", "{line}");
}

/// Appends `s` with quotes, backslashes and control characters escaped as `\xHH`, so that a
/// client cannot forge log lines or break the quoting.
fn escaped(line: &mut String, s: &str) {
    for c in s.chars() {
        if c == '"' || c == '\\' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(line, "\\x{b:02X}");
            }
        } else {
            line.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_controls_are_escaped() {
        let mut s = String::new();
        escaped(&mut s, "a\"b\\c\nd");
        assert_eq!(s, "a\\x22b\\x5Cc\\x0Ad");
    }
}
