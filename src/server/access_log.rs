//! The access log: one line per request in the Combined Log Format, plus the time taken in
//! seconds as a last field (as nginx's `$request_time`), to standard output or a file, apart
//! from the diagnostic log on standard error, so that log analysers (goaccess
//! `--log-format=COMBINED`) read it as it is.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

use super::date;
use super::settings::AccessLog;
use crate::http::{Headers, Version};

/// What the access log records of one exchange.
pub(crate) struct LogLine<'a> {
    /// The client's address (behind a trusted proxy, the one it forwarded).
    pub client: IpAddr,
    /// Method, target and version, when the request line could be parsed.
    pub request: Option<(&'a str, &'a str, Version)>,
    pub headers: Option<&'a Headers>,
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// When the request began to arrive.
    pub started: Instant,
    /// The app's `Server-Timing`, appended quoted after the seconds when there is one.
    pub timing: Option<&'a str>,
}

/// Where the lines go, opened once.
pub(crate) enum AccessLogger {
    Off,
    Stdout,
    /// Opened for appending: each line goes out in one `write`, which the kernel never
    /// interleaves with another thread's, so no lock is needed.
    File(File),
}

impl AccessLogger {
    /// Opens the destination, creating a log file's folder if needed.
    pub fn open(destination: &AccessLog) -> io::Result<AccessLogger> {
        Ok(match destination {
            AccessLog::Off => AccessLogger::Off,
            AccessLog::Stdout => AccessLogger::Stdout,
            AccessLog::File(path) => {
                if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder)?;
                }
                AccessLogger::File(open_append(path)?)
            }
        })
    }

    /// Writes the line of one exchange. A failed write is reported in the diagnostic log and
    /// never fails the request.
    pub fn log(&self, entry: &LogLine<'_>) {
        let written = match self {
            AccessLogger::Off => return,
            AccessLogger::Stdout => io::stdout().lock().write_all(line(entry).as_bytes()),
            AccessLogger::File(file) => (&*file).write_all(line(entry).as_bytes()),
        };
        if let Err(e) = written {
            log::warn!("access log: {e}");
        }
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The line for `entry`, with its newline.
fn line(entry: &LogLine<'_>) -> String {
    let mut line = String::with_capacity(200);
    let _ = write!(line, "{} - - [", entry.client);
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
    let secs = entry.started.elapsed().as_secs_f64();
    let _ = write!(line, "\" {secs:.6}");
    if let Some(timing) = entry.timing.filter(|t| !t.is_empty()) {
        line.push_str(" \"");
        escaped(&mut line, timing);
        line.push('"');
    }
    line.push('\n');
    line
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
