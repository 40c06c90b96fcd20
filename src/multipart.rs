//! `multipart/form-data` (RFC 7578), what a browser's `<form enctype="multipart/form-data">`
//! sends: text fields and files, each part after a boundary line. Read as a stream: a file
//! goes to memory up to a small size and then to an unnamed temporary file, never whole into
//! memory, within a limit per file; text fields within a limit of their own.
//!
//! No crate fits here: the well-kept one (`multer`) is asynchronous, and the synchronous ones
//! are unmaintained. So this parser is strict and small, and `tests` below throw thousands of
//! cut, mangled and random bodies at it: every one is an `Ok` or an `Err`, never a panic,
//! and what it accepts is what was sent.
//!
//! A client's file name is never a path: [`Upload::file_name`] is its last component,
//! without control characters or a leading dot (`../../etc/passwd` is `passwd`, `C:\x` is
//! `x`). Used by the framework (`Ctx::multipart`); a server-side upload can use it as well.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Most bytes of one part's header block.
const MAX_PART_HEAD: usize = 8 * 1024;
/// How much is read at a time.
const READ_SIZE: usize = 64 * 1024;

/// The limits a body is parsed within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file, in bytes: past it, [`MultipartError::TooLarge`] (a 413).
    pub max_file_bytes: u64,
    /// All text fields together, in bytes.
    pub max_field_bytes: usize,
    /// Most parts (fields and files).
    pub max_parts: usize,
    /// A file larger than this goes to a temporary file instead of memory.
    pub file_memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 8 * 1024 * 1024,
            max_field_bytes: 64 * 1024,
            max_parts: 64,
            file_memory_bytes: 64 * 1024,
        }
    }
}

/// Why a body is not a form this parser takes.
#[derive(Debug)]
pub enum MultipartError {
    /// The `Content-Type` is not `multipart/form-data` with a usable `boundary` (a 400, or
    /// a 415 when the type is another).
    NotMultipart(String),
    /// The body breaks the format (a 400).
    Malformed(&'static str),
    /// The body ends before its closing boundary (a 400).
    Truncated,
    /// A file, the fields or the number of parts is over its limit (a 413).
    TooLarge(String),
    /// Reading the body or writing a temporary file failed (a 500).
    Io(io::Error),
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MultipartError::NotMultipart(why) => write!(f, "not a multipart form: {why}"),
            MultipartError::Malformed(why) => write!(f, "malformed multipart body: {why}"),
            MultipartError::Truncated => {
                f.write_str("the multipart body ends before its last boundary")
            }
            MultipartError::TooLarge(what) => write!(f, "{what} is over its limit"),
            MultipartError::Io(e) => write!(f, "reading the multipart body: {e}"),
        }
    }
}

impl std::error::Error for MultipartError {}

impl From<io::Error> for MultipartError {
    fn from(e: io::Error) -> Self {
        MultipartError::Io(e)
    }
}

/// A parsed form: its text fields and its files, in the order sent.
#[derive(Debug, Default)]
pub struct Multipart {
    /// (name, value) of every text field.
    pub fields: Vec<(String, String)>,
    /// Every file.
    pub files: Vec<Upload>,
}

impl Multipart {
    /// The first text field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first file sent as the field `name`.
    pub fn file(&self, name: &str) -> Option<&Upload> {
        self.files.iter().find(|f| f.field == name)
    }
}

/// One uploaded file.
#[derive(Debug)]
pub struct Upload {
    /// The form field it was sent as.
    pub field: String,
    file_name: String,
    sent_name: String,
    /// Its `Content-Type` as the client said (`application/octet-stream` if it did not):
    /// a claim, not a fact.
    pub content_type: String,
    size: u64,
    data: Held,
}

#[derive(Debug)]
enum Held {
    Memory(Vec<u8>),
    File(File),
}

impl Upload {
    /// The file's name, made safe: the last component of what the client sent, without
    /// control characters, slashes or a leading dot, at most 200 bytes; `upload` if nothing
    /// is left. Still the client's choice: do not trust it to be unique.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The file name exactly as the client sent it (a path, perhaps, or `../../etc/passwd`):
    /// for code that refuses a bad name instead of mending it.
    pub fn sent_name(&self) -> &str {
        &self.sent_name
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether it went to a temporary file (it was larger than `file_memory_bytes`).
    pub fn is_spooled(&self) -> bool {
        matches!(self.data, Held::File(_))
    }

    /// Its bytes, read whole.
    pub fn bytes(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.size as usize);
        self.copy_to(&mut out)?;
        Ok(out)
    }

    /// Its bytes from the start, as a reader (a look at its first bytes reads only those).
    pub fn reader(&self) -> io::Result<Box<dyn Read + '_>> {
        match &self.data {
            Held::Memory(bytes) => Ok(Box::new(&bytes[..])),
            Held::File(file) => {
                let mut file: &File = file;
                file.seek(SeekFrom::Start(0))?;
                Ok(Box::new(file))
            }
        }
    }

    /// Copies its bytes into `out`.
    pub fn copy_to(&self, out: &mut impl Write) -> io::Result<u64> {
        io::copy(&mut self.reader()?, out)
    }

    /// Saves it as `path`, which must not exist yet: written to a temporary file beside it,
    /// then renamed, so that a reader never sees half of it and a failure leaves nothing.
    pub fn save_as(&self, path: &Path) -> io::Result<()> {
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut temp = tempfile::Builder::new()
            .prefix(".upload-")
            .tempfile_in(folder)?;
        self.copy_to(temp.as_file_mut())?;
        temp.as_file().sync_all()?;
        temp.persist_noclobber(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The boundary of a `Content-Type: multipart/form-data; boundary=…` (quoted or not).
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut params = content_type.split(';');
    let essence = params.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::NotMultipart(format!(
            "the type is {essence:?}"
        )));
    }
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("boundary") {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        // RFC 2046: 1 to 70 characters of a small set, not ending in a space.
        let allowed = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
        if value.is_empty()
            || value.len() > 70
            || value.ends_with(' ')
            || !value.chars().all(allowed)
        {
            return Err(MultipartError::NotMultipart(format!(
                "boundary {value:?} is not one"
            )));
        }
        return Ok(value.to_string());
    }
    Err(MultipartError::NotMultipart("no boundary".into()))
}

/// Parses a `multipart/form-data` body separated by `boundary`, within `limits`.
pub fn parse(
    body: impl Read,
    boundary: &str,
    limits: &Limits,
) -> Result<Multipart, MultipartError> {
    let mut input = Input {
        reader: body,
        buf: Vec::with_capacity(READ_SIZE),
        scratch: vec![0; READ_SIZE],
        ended: false,
    };
    let dash = format!("--{boundary}");
    // The first boundary may come after a preamble, which is ignored.
    input.skip_past_first(dash.as_bytes())?;
    let delimiter = format!("\r\n--{boundary}");
    let mut form = Multipart::default();
    let mut field_bytes = 0usize;
    loop {
        // After a boundary: `--` ends the body, else optional padding and CRLF start a part.
        input.want(2)?;
        if input.buf.starts_with(b"--") {
            return Ok(form);
        }
        let pad = input
            .buf
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        input.want(pad + 2)?;
        if &input.buf[pad..pad + 2] != b"\r\n" {
            return Err(MultipartError::Malformed(
                "a boundary line with more after it",
            ));
        }
        input.consume(pad + 2);
        if form.fields.len() + form.files.len() >= limits.max_parts {
            return Err(MultipartError::TooLarge(format!(
                "the number of parts ({})",
                limits.max_parts
            )));
        }
        let head = input.part_head()?;
        let part = PartHead::parse(&head)?;
        match part.file_name {
            None => {
                let mut value = Vec::new();
                let budget = limits.max_field_bytes - field_bytes;
                input.part_body(delimiter.as_bytes(), |chunk| {
                    if value.len() + chunk.len() > budget {
                        return Err(MultipartError::TooLarge("the text fields".into()));
                    }
                    value.extend_from_slice(chunk);
                    Ok(())
                })?;
                field_bytes += value.len();
                let value = String::from_utf8(value)
                    .map_err(|_| MultipartError::Malformed("a text field that is not UTF-8"))?;
                form.fields.push((part.name, value));
            }
            Some(raw_name) => {
                let mut sink = FileSink {
                    memory: Vec::new(),
                    file: None,
                    size: 0,
                    limits,
                };
                input.part_body(delimiter.as_bytes(), |chunk| sink.push(chunk))?;
                form.files.push(Upload {
                    field: part.name,
                    file_name: safe_file_name(&raw_name),
                    sent_name: raw_name,
                    content_type: part
                        .content_type
                        .unwrap_or_else(|| "application/octet-stream".into()),
                    size: sink.size,
                    data: match sink.file {
                        Some(file) => Held::File(file),
                        None => Held::Memory(sink.memory),
                    },
                });
            }
        }
    }
}

/// The body being read, with what has been read and not used yet.
struct Input<R> {
    reader: R,
    buf: Vec<u8>,
    /// Where each read lands before it joins `buf`.
    scratch: Vec<u8>,
    ended: bool,
}

impl<R: Read> Input<R> {
    /// Reads once more; `false` at the end of the body.
    fn more(&mut self) -> Result<bool, MultipartError> {
        if self.ended {
            return Ok(false);
        }
        let n = loop {
            match self.reader.read(&mut self.scratch) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.buf.extend_from_slice(&self.scratch[..n]);
        self.ended = n == 0;
        Ok(n > 0)
    }

    /// At least `n` bytes buffered, or `Truncated`.
    fn want(&mut self, n: usize) -> Result<(), MultipartError> {
        while self.buf.len() < n {
            if !self.more()? {
                return Err(MultipartError::Truncated);
            }
        }
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
    }

    /// Drops everything up to and including the first `--boundary` that starts the body or a
    /// line.
    fn skip_past_first(&mut self, dash: &[u8]) -> Result<(), MultipartError> {
        loop {
            let mut from = 0;
            while let Some(at) = find(&self.buf[from..], dash).map(|i| i + from) {
                if at == 0 || self.buf[..at].ends_with(b"\r\n") {
                    self.consume(at + dash.len());
                    return Ok(());
                }
                from = at + 1;
            }
            // Keep what could be the start of a boundary cut by the read.
            let keep = dash.len() + 2;
            if self.buf.len() > keep {
                let drop = self.buf.len() - keep;
                self.consume(drop);
            }
            if !self.more()? {
                return Err(MultipartError::Malformed("no boundary in the body"));
            }
        }
    }

    /// A part's header block, up to the empty line (not included).
    fn part_head(&mut self) -> Result<Vec<u8>, MultipartError> {
        // A part with no headers at all starts with the empty line at once.
        loop {
            if self.buf.starts_with(b"\r\n") {
                self.consume(2);
                return Ok(Vec::new());
            }
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = self.buf[..end].to_vec();
                self.consume(end + 4);
                return Ok(head);
            }
            if self.buf.len() > MAX_PART_HEAD {
                return Err(MultipartError::Malformed("a part's headers are too long"));
            }
            if !self.more()? {
                return Err(MultipartError::Truncated);
            }
        }
    }

    /// Hands the part's bytes to `sink` up to the next delimiter, which it consumes.
    fn part_body(
        &mut self,
        delimiter: &[u8],
        mut sink: impl FnMut(&[u8]) -> Result<(), MultipartError>,
    ) -> Result<(), MultipartError> {
        loop {
            if let Some(at) = find(&self.buf, delimiter) {
                sink(&self.buf[..at])?;
                self.consume(at + delimiter.len());
                return Ok(());
            }
            // All but what could be the delimiter's start is the part's.
            let safe = self.buf.len().saturating_sub(delimiter.len() - 1);
            if safe > 0 {
                sink(&self.buf[..safe])?;
                self.consume(safe);
            }
            if !self.more()? {
                return Err(MultipartError::Truncated);
            }
        }
    }
}

/// Where a file's bytes go: memory, then a temporary file past `file_memory_bytes`.
struct FileSink<'l> {
    memory: Vec<u8>,
    file: Option<File>,
    size: u64,
    limits: &'l Limits,
}

impl FileSink<'_> {
    fn push(&mut self, chunk: &[u8]) -> Result<(), MultipartError> {
        self.size += chunk.len() as u64;
        if self.size > self.limits.max_file_bytes {
            return Err(MultipartError::TooLarge(format!(
                "a file ({} bytes at most)",
                self.limits.max_file_bytes
            )));
        }
        if self.file.is_none() && self.memory.len() + chunk.len() <= self.limits.file_memory_bytes {
            self.memory.extend_from_slice(chunk);
            return Ok(());
        }
        if self.file.is_none() {
            let mut file = tempfile::tempfile()?;
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        if let Some(file) = &mut self.file {
            file.write_all(chunk)?;
        }
        Ok(())
    }
}

/// What a part's headers say of it.
struct PartHead {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
}

impl PartHead {
    fn parse(head: &[u8]) -> Result<PartHead, MultipartError> {
        let head = std::str::from_utf8(head)
            .map_err(|_| MultipartError::Malformed("part headers that are not UTF-8"))?;
        let mut disposition = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let (name, value) = line
                .split_once(':')
                .ok_or(MultipartError::Malformed("a part header without a colon"))?;
            if name.trim().eq_ignore_ascii_case("Content-Disposition") {
                disposition = Some(value.trim());
            } else if name.trim().eq_ignore_ascii_case("Content-Type") {
                content_type = Some(value.trim().to_string());
            }
        }
        let disposition = disposition.ok_or(MultipartError::Malformed(
            "a part without Content-Disposition",
        ))?;
        let params = disposition_params(disposition)?;
        let name = params
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.clone())
            .ok_or(MultipartError::Malformed("a part without a field name"))?;
        let file_name = params
            .iter()
            .find(|(k, _)| k == "filename")
            .map(|(_, v)| v.clone());
        Ok(PartHead {
            name,
            file_name,
            content_type,
        })
    }
}

/// `form-data; name="a"; filename="b.png"` as its (lower-cased name, value) parameters.
fn disposition_params(value: &str) -> Result<Vec<(String, String)>, MultipartError> {
    let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::Malformed("a part that is not form-data"));
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return Ok(params);
        }
        let (name, after) = rest.split_once('=').ok_or(MultipartError::Malformed(
            "a Content-Disposition parameter without `=`",
        ))?;
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            // A quoted string. Browsers send `"` as `%22` and a backslash as itself (old
            // ones send `C:\dir\x.png`), so a backslash escapes nothing here.
            let end = quoted.find('"').ok_or(MultipartError::Malformed(
                "an unterminated quoted parameter",
            ))?;
            (quoted[..end].to_string(), &quoted[end + 1..])
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.push((name, value));
        rest = tail;
    }
}

/// A client's file name as something safe to show or to use under a folder of our choice.
fn safe_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let mut name = String::new();
    for c in cleaned.chars() {
        if name.len() + c.len_utf8() > 200 {
            break;
        }
        name.push(c);
    }
    if name.is_empty() {
        "upload".into()
    } else {
        name
    }
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut from = 0;
    while let Some(i) = hay[from..=hay.len() - needle.len()]
        .iter()
        .position(|&b| b == first)
    {
        let at = from + i;
        if &hay[at..at + needle.len()] == needle {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "----miniweb7MA4YWxk";

    fn body(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = b"preamble to ignore\r\n".to_vec();
        for (name, file, data) in parts {
            out.extend_from_slice(format!("--{B}\r\n").as_bytes());
            match file {
                Some(f) => out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/png\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{B}--\r\nepilogue").as_bytes());
        out
    }

    fn parse_all(bytes: &[u8], limits: &Limits) -> Result<Multipart, MultipartError> {
        parse(bytes, B, limits)
    }

    /// A reader that hands out a few bytes at a time, as a slow client's body arrives.
    struct Dribble<'a>(&'a [u8], usize);

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn fields_and_files_come_out_as_sent_however_the_reads_fall() {
        let png: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let tricky = format!("\r\n--{}x and \r\n-- almost", &B[..B.len() - 1]);
        let sent = body(&[
            ("title", None, "你好, world".as_bytes()),
            ("note", None, tricky.as_bytes()),
            ("image", Some("../../etc/passwd"), &png),
            ("empty", Some("C:\\Users\\me\\x.txt"), b""),
        ]);
        for step in [1, 7, 70, 4096, usize::MAX] {
            let form = parse(Dribble(&sent, step), B, &Limits::default()).unwrap();
            assert_eq!(form.field("title"), Some("你好, world"));
            assert_eq!(
                form.field("note"),
                Some(tricky.as_str()),
                "a near-boundary is data"
            );
            let image = form.file("image").unwrap();
            assert_eq!(image.file_name(), "passwd");
            assert_eq!(image.content_type, "image/png");
            assert_eq!(image.size(), png.len() as u64);
            assert!(image.is_spooled(), "past file_memory_bytes it is on disk");
            assert_eq!(image.bytes().unwrap(), png);
            let empty = form.file("empty").unwrap();
            assert_eq!((empty.file_name(), empty.size()), ("x.txt", 0));
        }
    }

    #[test]
    fn hostile_bodies_are_errors_of_their_kind() {
        let good = body(&[("a", None, b"1"), ("f", Some("f.bin"), &[7u8; 1000])]);
        assert!(parse_all(&good, &Limits::default()).is_ok());
        // A boundary that never ends, and every cut of the body.
        let endless = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a\"\r\n\r\n{}",
            "x".repeat(300_000)
        );
        assert!(matches!(
            parse_all(endless.as_bytes(), &Limits::default()),
            Err(MultipartError::Truncated)
        ));
        for cut in 0..good.len() - b"--\r\nepilogue".len() {
            assert!(
                parse_all(&good[..cut], &Limits::default()).is_err(),
                "cut at {cut}"
            );
        }
        assert!(matches!(
            parse_all(b"no boundary anywhere", &Limits::default()),
            Err(MultipartError::Malformed(_))
        ));
        let small = Limits {
            max_file_bytes: 999,
            ..Limits::default()
        };
        assert!(matches!(
            parse_all(&good, &small),
            Err(MultipartError::TooLarge(_))
        ));
        let few = Limits {
            max_parts: 1,
            ..Limits::default()
        };
        assert!(matches!(
            parse_all(&good, &few),
            Err(MultipartError::TooLarge(_))
        ));
        let fields = Limits {
            max_field_bytes: 0,
            ..Limits::default()
        };
        assert!(matches!(
            parse_all(&good, &fields),
            Err(MultipartError::TooLarge(_))
        ));
        let no_name = format!("--{B}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{B}--");
        assert!(matches!(
            parse_all(no_name.as_bytes(), &Limits::default()),
            Err(MultipartError::Malformed(_))
        ));
        let not_utf8 =
            format!("--{B}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n").into_bytes();
        let not_utf8 = [
            not_utf8,
            vec![0xff, 0xfe],
            format!("\r\n--{B}--").into_bytes(),
        ]
        .concat();
        assert!(parse_all(&not_utf8, &Limits::default()).is_err());
    }

    #[test]
    fn random_and_mangled_bodies_never_panic() {
        let good = body(&[
            ("a", None, b"1"),
            ("f", Some("f.bin"), &[7u8; 3000]),
            ("b", None, b"two"),
        ]);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut bytes = good.clone();
            for _ in 0..(next() % 8) {
                let at = (next() as usize) % bytes.len();
                match next() % 4 {
                    0 => bytes[at] = next() as u8,
                    1 => {
                        bytes.remove(at);
                    }
                    2 => bytes.insert(at, b"\r\n-\"\\;="[(next() % 7) as usize]),
                    _ => bytes.truncate(at),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            let step = 1 + (next() % 300) as usize;
            let _ = parse(Dribble(&bytes, step), B, &Limits::default());
        }
    }

    #[test]
    fn boundaries_are_read_from_the_content_type() {
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={B}")).unwrap(),
            B
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=x; boundary=\"a b\"").unwrap(),
            "a b"
        );
        for bad in [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=\"\"",
            "application/json; boundary=x",
            &format!("multipart/form-data; boundary={}", "x".repeat(71)),
            "multipart/form-data; boundary=a\u{0}b",
        ] {
            assert!(boundary(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_names_lose_their_paths_controls_and_leading_dots() {
        for (raw, safe) in [
            ("../../etc/passwd", "passwd"),
            ("C:\\x", "x"),
            ("..", "upload"),
            (".bashrc", "bashrc"),
            ("a\u{0}b\nc.png", "abc.png"),
            ("", "upload"),
            ("照片 1.jpg", "照片 1.jpg"),
        ] {
            assert_eq!(safe_file_name(raw), safe, "{raw:?}");
        }
        assert!(safe_file_name(&"é".repeat(300)).len() <= 200);
    }

    #[test]
    fn save_as_writes_whole_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let sent = body(&[("f", Some("a.txt"), b"contents")]);
        let form = parse_all(&sent, &Limits::default()).unwrap();
        let target = dir.path().join("a.txt");
        form.file("f").unwrap().save_as(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"contents");
        assert!(
            form.file("f").unwrap().save_as(&target).is_err(),
            "it exists"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left beside it");
    }
}
