//! A listed folder as one download (`?download=tar.gz` or `?download=zip`, with `--archives`):
//! every file the listing would show, and the folders under it, walked depth first, by name.
//! No dotfile, nothing through a symlink out of the root, no hidden file, and each real
//! folder once (a symlink back up cannot make it endless).
//!
//! The archive is made while it is sent, in constant memory: a thread writes it, through
//! the `tar` and `flate2` crates or the `zip` crate's streaming writer, into a channel of a
//! few 64 KiB chunks that the connection sends as a chunked body. A client that goes away
//! drops the channel, and the writer stops at its next chunk. A folder that changes meanwhile
//! cannot break the archive: a file that vanished is left out, and one that shrank since its
//! size was written is padded to that size (a tar entry's size comes before its bytes), which
//! the log says.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};

use super::hidden::Hidden;
use super::listing::visible;
use crate::http::{Body, Response, Stream};
use crate::server::date::rfc3339;

/// Bytes per chunk sent.
const CHUNK: usize = 64 * 1024;
/// Chunks the writer may be ahead of the client.
const AHEAD: usize = 4;

/// The two kinds of archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    TarGz,
    Zip,
}

impl Format {
    /// `tar.gz` or `zip`, as `?download=` names them in a query's decoded `pairs`; `None`
    /// when they do not ask for an archive.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Option<Result<Format, String>> {
        let (_, value) = pairs.iter().find(|(name, _)| name == "download")?;
        Some(match value.as_str() {
            "tar.gz" | "tgz" => Ok(Format::TarGz),
            "zip" => Ok(Format::Zip),
            other => Err(format!("download={other}: the archives are tar.gz and zip")),
        })
    }

    fn extension(self) -> &'static str {
        match self {
            Format::TarGz => "tar.gz",
            Format::Zip => "zip",
        }
    }
}

/// The archive of `dir` (canonical, inside the canonical `root`), as a streamed answer.
pub(crate) fn respond(root: &Path, dir: &Path, hidden: &Hidden, format: Format) -> Response {
    let top = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .unwrap_or("files")
        .to_string();
    let (tx, rx) = sync_channel(AHEAD);
    let walk = Walk {
        root: root.to_path_buf(),
        hidden: hidden.clone(),
    };
    let dir = dir.to_path_buf();
    let name = top.clone();
    let spawned = std::thread::Builder::new()
        .name("archive".into())
        .spawn(move || {
            let out = Chunks {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK),
            };
            let written = match format {
                Format::TarGz => walk.tar_gz(out, &dir, &name),
                Format::Zip => walk.zip(out, &dir, &name),
            };
            match written {
                Ok(()) => {}
                // The client went away: nobody to tell.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => {
                    log::warn!("archive of {}: {e}", dir.display());
                    let _ = tx.send(Err(e));
                }
            }
        });
    if let Err(e) = spawned {
        log::error!("cannot start an archive's thread: {e}");
        return Response::error_page(503);
    }
    let file_name = format!("{top}.{}", format.extension());
    let content_type = match format {
        Format::TarGz => "application/gzip",
        Format::Zip => "application/zip",
    };
    Response::new(200)
        .with_header("Content-Type", content_type)
        .with_header("Content-Disposition", attachment(&file_name))
        .with_header("Cache-Control", "no-store")
        .with_body(Body::Stream(Stream::new(rx)))
}

/// `attachment; filename=...`, with the UTF-8 name as RFC 6266 and 8187 write it.
fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The bytes of the archive, gathered into chunks for the channel.
struct Chunks {
    tx: SyncSender<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
}

impl Chunks {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = bytes.len().min(room);
        self.buf.extend_from_slice(&bytes[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// One entry on the way: its path on disk and its name in the archive.
struct Entry {
    path: PathBuf,
    name: String,
    is_dir: bool,
    modified: Option<std::time::SystemTime>,
}

/// What a walk may enter.
struct Walk {
    root: PathBuf,
    hidden: Hidden,
}

impl Walk {
    /// Every entry under `dir`, depth first, by name, each named under `top/`.
    fn entries(
        &self,
        dir: &Path,
        top: &str,
        each: &mut dyn FnMut(Entry) -> io::Result<()>,
    ) -> io::Result<()> {
        each(Entry {
            path: dir.to_path_buf(),
            name: top.to_string(),
            is_dir: true,
            modified: dir.metadata().and_then(|m| m.modified()).ok(),
        })?;
        let mut seen = HashSet::new();
        let mut stack = vec![(dir.to_path_buf(), top.to_string())];
        while let Some((dir, prefix)) = stack.pop() {
            let real = match dir.canonicalize() {
                Ok(real) => real,
                Err(_) => continue, // gone meanwhile
            };
            if !seen.insert(real.clone()) {
                continue;
            }
            let Ok(found) = visible(&self.root, &real, &self.hidden) else {
                continue;
            };
            let mut found: Vec<_> = found.collect();
            found.sort_by(|a, b| a.name.cmp(&b.name));
            let mut folders = Vec::new();
            for v in found {
                let name = format!("{prefix}/{}", v.name);
                let is_dir = v.meta.is_dir();
                each(Entry {
                    path: v.path.clone(),
                    name: name.clone(),
                    is_dir,
                    modified: v.meta.modified().ok(),
                })?;
                if is_dir {
                    folders.push((v.path, name));
                }
            }
            // Popped in name order.
            stack.extend(folders.into_iter().rev());
        }
        Ok(())
    }

    fn tar_gz(&self, out: Chunks, dir: &Path, top: &str) -> io::Result<()> {
        let gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Deterministic);
        self.entries(dir, top, &mut |e| {
            let mut header = tar::Header::new_gnu();
            let mtime = e
                .modified
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            header.set_mtime(mtime);
            if e.is_dir {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                return tar.append_data(&mut header, format!("{}/", e.name), io::empty());
            }
            let Some((file, len)) = open(&e.path) else {
                return Ok(());
            };
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o644);
            header.set_size(len);
            let body = ExactLen::new(file, len, &e.path);
            tar.append_data(&mut header, &e.name, body)
        })?;
        let mut gz = tar.into_inner()?;
        gz.try_finish()?;
        gz.finish()?.flush()
    }

    fn zip(&self, out: Chunks, dir: &Path, top: &str) -> io::Result<()> {
        use zip::write::SimpleFileOptions;
        let mut zip = zip::ZipWriter::new_stream(out);
        let zip_err = |e: zip::result::ZipError| match e {
            zip::result::ZipError::Io(e) => e,
            e => io::Error::other(e.to_string()),
        };
        self.entries(dir, top, &mut |e| {
            let mut options = SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(1));
            if let Some(time) = e.modified.and_then(zip_time) {
                options = options.last_modified_time(time);
            }
            if e.is_dir {
                return zip
                    .add_directory(format!("{}/", e.name), options.unix_permissions(0o755))
                    .map_err(zip_err);
            }
            let Some((file, len)) = open(&e.path) else {
                return Ok(());
            };
            let options = options
                .unix_permissions(0o644)
                .large_file(len >= u32::MAX as u64);
            zip.start_file(e.name.as_str(), options).map_err(zip_err)?;
            io::copy(&mut ExactLen::new(file, len, &e.path), &mut zip)?;
            Ok(())
        })?;
        zip.finish().map_err(zip_err)?.into_inner().flush()
    }
}

/// The file at `path`, open, and its length now; `None` (logged) if it went away.
fn open(path: &Path) -> Option<(File, u64)> {
    let opened = File::open(path).and_then(|f| {
        let len = f.metadata()?.len();
        Ok((f, len))
    });
    match opened {
        Ok(pair) => Some(pair),
        Err(e) => {
            log::info!("archive: {} left out: {e}", path.display());
            None
        }
    }
}

/// Exactly `len` bytes of a file: its own, cut at `len` if it grew, padded with zeros if it
/// shrank, so that the archive's framing holds whatever happens to the file.
struct ExactLen<'p> {
    file: io::Take<File>,
    left: u64,
    short: bool,
    path: &'p Path,
}

impl<'p> ExactLen<'p> {
    fn new(file: File, len: u64, path: &'p Path) -> ExactLen<'p> {
        ExactLen {
            file: file.take(len),
            left: len,
            short: false,
            path,
        }
    }
}

impl Read for ExactLen<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left as usize);
        let n = match self.short {
            false => self.file.read(&mut buf[..want])?,
            true => 0,
        };
        let n = if n == 0 {
            if !self.short {
                log::warn!(
                    "archive: {} shrank while it was read; padded",
                    self.path.display()
                );
                self.short = true;
            }
            buf[..want].fill(0);
            want
        } else {
            n
        };
        self.left -= n as u64;
        Ok(n)
    }
}

/// A zip entry's time (MS-DOS: local, two-second steps, 1980-2107), from UTC.
fn zip_time(t: std::time::SystemTime) -> Option<zip::DateTime> {
    // `YYYY-MM-DDTHH:MM:SSZ`
    let s = rfc3339(t);
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u16>().ok();
    zip::DateTime::from_date_and_time(
        num(0..4)?,
        num(5..7)? as u8,
        num(8..10)? as u8,
        num(11..13)? as u8,
        num(14..16)? as u8,
        num(17..19)? as u8,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::decode_pairs;

    #[test]
    fn the_format_comes_from_the_query() {
        let format = |query: &str| Format::from_pairs(&decode_pairs(query.as_bytes()).unwrap());
        assert_eq!(format("download=zip"), Some(Ok(Format::Zip)));
        assert_eq!(format("a=1&download=tar.gz"), Some(Ok(Format::TarGz)));
        assert!(matches!(format("download=rar"), Some(Err(_))));
        assert_eq!(format("sort=size"), None);
    }

    #[test]
    fn a_shrunk_file_is_padded_to_the_size_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, b"abc").unwrap();
        let mut out = Vec::new();
        ExactLen::new(File::open(&path).unwrap(), 5, &path)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"abc\0\0");
        let mut out = Vec::new();
        ExactLen::new(File::open(&path).unwrap(), 2, &path)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"ab");
    }

    #[test]
    fn names_with_quotes_or_beyond_ascii_are_safe_in_the_header() {
        assert_eq!(
            attachment("a\"b 中.zip"),
            "attachment; filename=\"a_b__.zip\"; filename*=UTF-8''a%22b%20%E4%B8%AD%2Ezip"
        );
    }
}
