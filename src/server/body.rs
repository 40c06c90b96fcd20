//! Reading a request body by its framing (Content-Length or chunked), de-chunked, within the
//! size limit and the body deadline.
//!
//! The deadline is Apache's `RequestReadTimeout body=...,MinRate=...`: `body_timeout` for the
//! first bytes, then one more second for every `body_min_rate` bytes received. A client that
//! sends one byte every few seconds runs out of time however long its body claims to be.

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::http::RequestBody;

use super::activity::Phase;
use super::framing::Framing;
use super::grammar::{is_tchar, is_token};
use super::head::ReadError;
use super::request::RequestReader;

/// Longest chunk-size line or trailer line accepted in a chunked body.
const MAX_CHUNK_LINE: usize = 4096;
/// Most hex digits in a chunk size; 16 already exceed any body limit.
const MAX_CHUNK_DIGITS: usize = 16;

/// The body deadline as it moves with what has arrived.
struct BodyClock {
    started: Instant,
    /// When bytes last arrived.
    last: Instant,
    grace: Duration,
    min_rate: u64,
    received: u64,
}

impl BodyClock {
    fn new(grace: Duration, min_rate: u64, received: u64) -> BodyClock {
        let now = Instant::now();
        BodyClock {
            started: now,
            last: now,
            grace,
            min_rate,
            received,
        }
    }

    fn arrived(&mut self, n: usize) {
        self.received += n as u64;
        self.last = Instant::now();
    }

    /// The grace plus a second per `min_rate` bytes received; with no minimum rate, the grace
    /// after the last bytes, so that a stalled body is still bounded.
    fn deadline(&self) -> Instant {
        if self.min_rate == 0 {
            return self.last + self.grace;
        }
        let earned = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        self.started + self.grace + earned
    }
}

/// Reads the body that `framing` announces from `reader`, de-chunked, at most `limit` bytes
/// (`max_body_bytes`, or the upload limit for an upload its sender may make). It uses only the
/// reader's buffer (`data`, `consume`) and its deadline read (`fill_or_408`): the head is the
/// reader's, the body is this file's.
pub(super) fn read_body(
    reader: &mut RequestReader<'_>,
    framing: &Framing,
    limit: u64,
) -> Result<RequestBody, ReadError> {
    let spool_above = reader.config().body_memory_bytes;
    let mut sink = Sink {
        memory: Vec::new(),
        file: None,
        len: 0,
        spool_above,
    };
    BodyReader { reader, limit }.read(framing, &mut sink)?;
    Ok(sink.finish())
}

/// Where a body goes as it arrives: memory, then, past `spool_above` bytes, an unnamed
/// temporary file (what was in memory first).
struct Sink {
    memory: Vec<u8>,
    file: Option<File>,
    len: u64,
    spool_above: usize,
}

impl Sink {
    fn push(&mut self, bytes: &[u8]) -> Result<(), ReadError> {
        self.len += bytes.len() as u64;
        if self.file.is_none() && self.memory.len() + bytes.len() <= self.spool_above {
            self.memory.extend_from_slice(bytes);
            return Ok(());
        }
        let spool_failed = |e: std::io::Error| {
            log::error!("cannot write a request body to a temporary file: {e}");
            ReadError::Reject(507, "no room to hold the body")
        };
        if self.file.is_none() {
            let mut file = tempfile::tempfile().map_err(spool_failed)?;
            file.write_all(&self.memory).map_err(spool_failed)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        if let Some(file) = &mut self.file {
            file.write_all(bytes).map_err(spool_failed)?;
        }
        Ok(())
    }

    fn finish(self) -> RequestBody {
        match self.file {
            Some(file) => RequestBody::from_file(file, self.len),
            None => RequestBody::from_bytes(self.memory),
        }
    }
}

/// The body of one request, read off its connection's reader.
struct BodyReader<'r, 'a> {
    reader: &'r mut RequestReader<'a>,
    /// The most bytes the body may have.
    limit: u64,
}

impl BodyReader<'_, '_> {
    fn read(&mut self, framing: &Framing, sink: &mut Sink) -> Result<(), ReadError> {
        // Most requests have no body: no phase, no clock.
        if matches!(framing, Framing::None | Framing::Length(0)) {
            return Ok(());
        }
        self.reader.activity().enter(Phase::Body);
        self.reader.activity().progress(self.reader.data().len());
        let mut clock = BodyClock::new(
            self.reader.config().body_timeout,
            self.reader.config().body_min_rate,
            self.reader.data().len() as u64,
        );
        match *framing {
            Framing::None => Ok(()),
            Framing::Length(n) => {
                if n > self.limit {
                    return Err(ReadError::Reject(413, "body larger than the limit"));
                }
                self.pass(n, sink, &mut clock)
            }
            Framing::Chunked => self.read_chunked(sink, &mut clock),
        }
    }

    /// Moves the next `n` bytes of the connection into `sink`, as they arrive: never more
    /// than a read's worth in the reader's buffer.
    fn pass(&mut self, n: u64, sink: &mut Sink, clock: &mut BodyClock) -> Result<(), ReadError> {
        let mut left = n;
        while left > 0 {
            if self.reader.data().is_empty() {
                self.fill_body(clock)?;
            }
            let take = (self.reader.data().len() as u64).min(left) as usize;
            sink.push(&self.reader.data()[..take])?;
            self.reader.consume(take);
            left -= take as u64;
        }
        Ok(())
    }

    fn read_chunked(&mut self, sink: &mut Sink, clock: &mut BodyClock) -> Result<(), ReadError> {
        loop {
            let line = self.line(clock)?;
            let size = parse_chunk_line(&line)
                .ok_or(ReadError::Reject(400, "malformed chunk size line"))?;
            if size == 0 {
                // Trailer fields are checked and dropped; an empty line ends the message.
                let mut trailer_bytes = 0;
                loop {
                    let line = self.line(clock)?;
                    if line.is_empty() {
                        return Ok(());
                    }
                    if !is_field_line(&line) {
                        return Err(ReadError::Reject(400, "malformed trailer field"));
                    }
                    trailer_bytes += line.len();
                    if trailer_bytes > self.reader.config().max_head_bytes {
                        return Err(ReadError::Reject(431, "trailer fields too large"));
                    }
                }
            }
            if sink.len + size > self.limit {
                return Err(ReadError::Reject(413, "body larger than the limit"));
            }
            self.pass(size, sink, clock)?;
            self.need(2, clock)?;
            if &self.reader.data()[..2] != b"\r\n" {
                return Err(ReadError::Reject(400, "chunk not followed by CRLF"));
            }
            self.reader.consume(2);
        }
    }

    /// One CRLF-terminated line of a chunked body, without the CRLF. A bare LF is an error at
    /// once rather than a wait for a CRLF that a confused peer will never send.
    fn line(&mut self, clock: &mut BodyClock) -> Result<Vec<u8>, ReadError> {
        let mut searched = 0;
        loop {
            if let Some(i) = self.reader.data()[searched..]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                let end = searched + i;
                let line = self.reader.data()[..end].to_vec();
                self.reader.consume(end + 2);
                return Ok(line);
            }
            if self.reader.data().contains(&b'\n') {
                return Err(ReadError::Reject(400, "bare LF in a chunked body"));
            }
            searched = self.reader.data().len().saturating_sub(1);
            if self.reader.data().len() > MAX_CHUNK_LINE {
                return Err(ReadError::Reject(400, "chunk line too long"));
            }
            self.fill_body(clock)?;
        }
    }

    /// Ensures at least `n` bytes are buffered.
    fn need(&mut self, n: usize, clock: &mut BodyClock) -> Result<(), ReadError> {
        while self.reader.data().len() < n {
            self.fill_body(clock)?;
        }
        Ok(())
    }

    /// One read of the body before its deadline; past the deadline it is a 408.
    fn fill_body(&mut self, clock: &mut BodyClock) -> Result<(), ReadError> {
        let n = self
            .reader
            .fill_or_408(clock.deadline(), "body not received in time")?;
        clock.arrived(n);
        Ok(())
    }
}

/// The size of a chunk from its line (RFC 9112, section 7.1):
/// `1*HEXDIG *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )`.
/// `None` for anything else: a sign, `0x`, spaces around the size without an extension,
/// control bytes, more than `MAX_CHUNK_DIGITS` digits.
fn parse_chunk_line(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > MAX_CHUNK_DIGITS {
        return None;
    }
    let text = std::str::from_utf8(&line[..digits]).ok()?;
    let size = u64::from_str_radix(text, 16).ok()?;
    let mut rest = &line[digits..];
    let bws = |s: &mut &[u8]| {
        while let [b' ' | b'\t', tail @ ..] = *s {
            *s = tail;
        }
    };
    while !rest.is_empty() {
        bws(&mut rest);
        rest = rest.strip_prefix(b";")?;
        bws(&mut rest);
        rest = skip_token(rest)?;
        let mut after = rest;
        bws(&mut after);
        if let Some(value) = after.strip_prefix(b"=") {
            let mut value = value;
            bws(&mut value);
            rest = match value.first() {
                Some(b'"') => skip_quoted(value)?,
                _ => skip_token(value)?,
            };
        }
    }
    Some(size)
}

/// The rest after a non-empty token at the start of `s`.
fn skip_token(s: &[u8]) -> Option<&[u8]> {
    let n = s.iter().take_while(|&&b| is_tchar(b)).count();
    (n > 0).then(|| &s[n..])
}

/// The rest after a quoted-string at the start of `s` (which begins with `"`).
fn skip_quoted(s: &[u8]) -> Option<&[u8]> {
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'"' => return Some(&s[i + 1..]),
            b'\\' => {
                let next = *s.get(i + 1)?;
                if next != b'\t' && (next < 0x20 || next == 0x7f) {
                    return None;
                }
                i += 2;
            }
            b'\t' => i += 1,
            b if b < 0x20 || b == 0x7f => return None,
            _ => i += 1,
        }
    }
    None
}

/// `field-name ":" OWS field-value OWS`, with no control byte but HTAB in the value.
fn is_field_line(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name_ok = std::str::from_utf8(&line[..colon]).is_ok_and(is_token);
    name_ok
        && line[colon + 1..]
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_lines_follow_the_grammar() {
        let good: &[(&[u8], u64)] = &[
            (b"0", 0),
            (b"5", 5),
            (b"1A", 26),
            (b"1a", 26),
            (b"0005", 5),
            (b"ffffffffffffffff", u64::MAX),
            (b"5;ext", 5),
            (b"5;ext=1", 5),
            (b"5 ; ext = val", 5),
            (b"5;a=1;b;c=\"q \\\" uoted\"", 5),
            (b"5;e=\"\"", 5),
        ];
        for (line, size) in good {
            assert_eq!(
                parse_chunk_line(line),
                Some(*size),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        let bad: &[&[u8]] = &[
            b"",
            b" 5",
            b"5 ",
            b"\t5",
            b"+5",
            b"-5",
            b"0x5",
            b"5g",
            b"1ffffffffffffffff",
            b"5;",
            b"5;=v",
            b"5;e=",
            b"5;e=\"open",
            b"5;e=v w",
            b"5;e\rx",
            b"5\r",
            b"5;e=\"a\rb\"",
            b"5;e\0",
            b"5,6",
        ];
        for line in bad {
            assert_eq!(
                parse_chunk_line(line),
                None,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn the_body_deadline_grows_with_the_bytes_or_bounds_a_stall() {
        let grace = Duration::from_secs(10);
        let mut rated = BodyClock::new(grace, 500, 0);
        assert_eq!(rated.deadline(), rated.started + grace);
        rated.arrived(1000);
        assert_eq!(
            rated.deadline(),
            rated.started + grace + Duration::from_secs(2)
        );
        let mut no_minimum = BodyClock::new(grace, 0, 0);
        assert_eq!(no_minimum.deadline(), no_minimum.started + grace);
        no_minimum.arrived(1);
        assert_eq!(no_minimum.deadline(), no_minimum.last + grace);
    }

    #[test]
    fn trailer_lines_are_fields() {
        assert!(is_field_line(b"X-Sum: abc"));
        assert!(is_field_line(b"X-Sum:"));
        assert!(!is_field_line(b"no colon"));
        assert!(!is_field_line(b"Bad Name: x"));
        assert!(!is_field_line(b"X: a\rb"));
        assert!(!is_field_line(b": x"));
    }
}
