//! Static files: safe path resolution under the root, MIME types, conditional requests
//! (ETag, Last-Modified) and single byte ranges, with the body streamed from disk.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use percent_encoding::percent_decode_str;

use super::file_cache::{CachedFile, FileCache, Lookup};
use super::head::parse_digits;
use crate::http::{etag_list_matches, Body, Request, Response};

/// Methods static files answer to.
const ALLOW: &str = "GET, HEAD, OPTIONS";

/// What a request path names under the static root.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A regular file, by its canonical path.
    File(PathBuf),
    /// A directory named without a trailing `/`.
    Dir,
}

/// Resolves a raw (still percent-encoded) request path under `root`, which must already be
/// canonical. `None` for anything hostile or missing, so that the answer is a plain 404 and
/// never says whether a file outside the root exists.
///
/// Refused: encoded `/` or `\`, invalid UTF-8, NUL, `\`, any segment starting with `.` (which
/// covers `.`, `..` and dotfiles), and any path that after following symlinks leaves `root`.
/// A path ending in `/` names that directory's `index.html`.
pub fn resolve(root: &Path, raw_path: &str) -> Option<Resolved> {
    if !raw_path.starts_with('/') {
        return None;
    }
    let lower = raw_path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return None;
    }
    let decoded = percent_decode_str(raw_path).decode_utf8().ok()?;
    if decoded.contains(['\0', '\\']) {
        return None;
    }
    let mut candidate = root.to_path_buf();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') {
            return None;
        }
        candidate.push(segment);
    }
    if decoded.ends_with('/') {
        candidate.push("index.html");
    }
    // One `stat` settles the common miss before the many syscalls of canonicalising.
    std::fs::metadata(&candidate).ok()?;
    let real = candidate.canonicalize().ok()?;
    if !real.starts_with(root) {
        return None;
    }
    let meta = real.metadata().ok()?;
    if meta.is_file() {
        Some(Resolved::File(real))
    } else if meta.is_dir() && !decoded.ends_with('/') {
        Some(Resolved::Dir)
    } else {
        None
    }
}

/// Answers a GET or HEAD for a file under `root` (canonical), with `cache_control` on success.
pub(crate) fn serve(
    req: &Request,
    root: &Path,
    cache_control: &str,
    cache: &FileCache,
) -> Response {
    match req.method.as_str() {
        "GET" | "HEAD" => {}
        "OPTIONS" => return Response::new(204).with_header("Allow", ALLOW),
        _ => return Response::error_page(405).with_header("Allow", ALLOW),
    }
    match cache.lookup(root, req.raw_path()) {
        Lookup::File(entry) => serve_file(req, &entry, cache_control),
        Lookup::Dir => {
            let mut location = format!("{}/", req.raw_path());
            if !req.query.is_empty() {
                location.push('?');
                location.push_str(&req.query);
            }
            Response::redirect(301, &location)
        }
        Lookup::Missing => Response::error_page(404),
    }
}

/// The `Content-Type` for a file name: `mime_guess`, with `charset=utf-8` on text types.
pub fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let essence = mime.essence_str();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            essence,
            "application/javascript" | "application/json" | "application/xml" | "image/svg+xml"
        );
    if textual {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_string()
    }
}

fn serve_file(req: &Request, f: &CachedFile, cache_control: &str) -> Response {
    let mut resp = Response::new(200)
        .with_header("ETag", f.etag.clone())
        .with_header("Cache-Control", cache_control)
        .with_header("Accept-Ranges", "bytes");
    if let Some(m) = &f.last_modified {
        resp = resp.with_header("Last-Modified", m.clone());
    }

    // RFC 9110, section 13.2.2: preconditions in this order.
    if let Some(im) = req.header("If-Match") {
        if !etag_list_matches(im, &f.etag, false) {
            return precondition_failed(resp);
        }
    } else if let Some(ius) = req.header("If-Unmodified-Since").and_then(http_secs) {
        if f.modified_secs.is_some_and(|m| m > ius) {
            return precondition_failed(resp);
        }
    }
    if let Some(inm) = req.header("If-None-Match") {
        if etag_list_matches(inm, &f.etag, true) {
            resp.status = 304;
            return resp;
        }
    } else if let Some(ims) = req.header("If-Modified-Since").and_then(http_secs) {
        if f.modified_secs.is_some_and(|m| m <= ims) {
            resp.status = 304;
            return resp;
        }
    }

    resp.headers.append("Content-Type", f.content_type.clone());
    let len = f.len;
    let range = match req.header("Range") {
        Some(r) if if_range_holds(req.header("If-Range"), f) => parse_range(r, len),
        _ => ByteRange::Full,
    };
    let (first, count) = match range {
        ByteRange::Full => (0, len),
        ByteRange::Part { first, last } => {
            resp.status = 206;
            resp.headers
                .append("Content-Range", format!("bytes {first}-{last}/{len}"));
            (first, last - first + 1)
        }
        ByteRange::Unsatisfiable => {
            let mut r = Response::error_page(416);
            r.headers.append("Content-Range", format!("bytes */{len}"));
            return r;
        }
    };
    let body = match &f.body {
        Some(bytes) if count == len => Body::Shared(bytes.clone()),
        Some(bytes) => Body::Bytes(bytes[first as usize..(first + count) as usize].to_vec()),
        None => match File::open(&f.path) {
            Ok(file) => Body::File {
                file,
                start: first,
                len: count,
            },
            Err(e) => {
                log::warn!("{}: {e}", f.path.display());
                return Response::error_page(404);
            }
        },
    };
    resp.with_body(body)
}

fn precondition_failed(mut validated: Response) -> Response {
    let page = Response::error_page(412);
    validated.status = 412;
    validated
        .headers
        .append("Content-Type", "text/html; charset=utf-8");
    validated.body = page.body;
    validated
}

/// Parses an HTTP date to whole seconds since the epoch; `None` if it is not a valid date
/// (an invalid date makes the condition be ignored, RFC 9110 section 13.1.3).
fn http_secs(value: &str) -> Option<u64> {
    httpdate::parse_http_date(value)
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

/// `If-Range` holds when absent, or when it names the current strong ETag or exactly the
/// current modification date; otherwise the whole file is sent (RFC 9110, section 13.1.5).
fn if_range_holds(if_range: Option<&str>, f: &CachedFile) -> bool {
    match if_range.map(str::trim) {
        None => true,
        Some(value) if value.starts_with('"') => value == f.etag,
        Some(value) if value.starts_with("W/") => false,
        Some(value) => http_secs(value).is_some() && http_secs(value) == f.modified_secs,
    }
}

/// The part of a representation a `Range` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable range: send everything with 200. Syntactically invalid ranges, other units
    /// and multiple ranges are ignored, as RFC 9110 allows.
    Full,
    /// Bytes `first..=last`, both within the representation.
    Part {
        /// The first byte.
        first: u64,
        /// The last byte, inclusive.
        last: u64,
    },
    /// A valid range that lies wholly outside the representation: 416.
    Unsatisfiable,
}

/// Parses a `Range` header for a representation of `len` bytes: `bytes=a-b`, `bytes=a-` or
/// `bytes=-n`.
pub fn parse_range(value: &str, len: u64) -> ByteRange {
    let value = value.trim();
    let Some((unit, spec)) = value.split_once('=') else {
        return ByteRange::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return ByteRange::Full;
    };
    // Overflow reads as u64::MAX, which means "past any end".
    let number = parse_digits;
    match (a.trim(), b.trim()) {
        ("", suffix) => match number(suffix) {
            None => ByteRange::Full,
            Some(0) => ByteRange::Unsatisfiable,
            Some(_) if len == 0 => ByteRange::Unsatisfiable,
            Some(n) => ByteRange::Part {
                first: len - n.min(len),
                last: len - 1,
            },
        },
        (first, "") => match number(first) {
            None => ByteRange::Full,
            Some(f) if f >= len => ByteRange::Unsatisfiable,
            Some(f) => ByteRange::Part {
                first: f,
                last: len - 1,
            },
        },
        (first, last) => match (number(first), number(last)) {
            (Some(f), Some(l)) if f <= l => {
                if f >= len {
                    ByteRange::Unsatisfiable
                } else {
                    ByteRange::Part {
                        first: f,
                        last: l.min(len - 1),
                    }
                }
            }
            _ => ByteRange::Full,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::xorshift;
    use std::fs;

    /// A root with a few files, a dotfile, a subfolder with an index, and symlinks pointing
    /// inside and outside, plus a secret beside the root.
    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("static");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        fs::write(root.join("hello.txt"), "hello").unwrap();
        fs::write(root.join("a b.txt"), "space").unwrap();
        fs::write(root.join("中文.txt"), "zh").unwrap();
        fs::write(root.join(".secret"), "dot").unwrap();
        fs::write(root.join("sub/index.html"), "<p>sub</p>").unwrap();
        fs::write(root.join("sub/x.css"), "p{}").unwrap();
        fs::write(top.path().join("outside.txt"), "outside").unwrap();
        std::os::unix::fs::symlink(top.path().join("outside.txt"), root.join("escape.txt"))
            .unwrap();
        std::os::unix::fs::symlink(top.path(), root.join("updir")).unwrap();
        std::os::unix::fs::symlink(root.join("hello.txt"), root.join("inside.txt")).unwrap();
        let root = root.canonicalize().unwrap();
        (top, root)
    }

    #[test]
    fn hostile_paths_resolve_to_nothing() {
        let (_top, root) = fixture();
        let hostile = [
            "/../outside.txt",
            "/..%2foutside.txt",
            "/..%2Foutside.txt",
            "/%2e%2e/outside.txt",
            "/%2E%2E/outside.txt",
            "/%2e%2e%2foutside.txt",
            "/sub/../../outside.txt",
            "/sub/%2e%2e/%2e%2e/outside.txt",
            "/./hello.txt",
            "/sub/./x.css",
            "/..",
            "/../",
            "/..\\outside.txt",
            "/..%5coutside.txt",
            "/..%5Coutside.txt",
            "/sub%2fx.css",
            "/hello.txt%00",
            "/hello.txt%00.png",
            "/%00",
            "/.secret",
            "/%2esecret",
            "/sub/.hidden",
            "/escape.txt",
            "/updir/outside.txt",
            "/updir",
            "/%c0%ae%c0%ae/outside.txt",
            "/%ff",
            "/%e4%b8",
            "hello.txt",
            "",
            "//..//outside.txt",
            "/missing.txt",
            "/empty/",
            "/hello.txt/",
            "/sub/missing/",
            "/%252e%252e/outside.txt",
            "/....//outside.txt",
            "/...",
            "/.git/config",
            "/sub/..",
            "/sub/%2e%2e",
            "/\\..\\outside.txt",
            "/%5c..%5coutside.txt",
        ];
        assert!(hostile.len() >= 40);
        for path in hostile {
            assert_eq!(resolve(&root, path), None, "{path:?} must not resolve");
        }
    }

    #[test]
    fn random_paths_never_escape_the_root() {
        let (_top, root) = fixture();
        let pieces = [
            "/",
            "..",
            ".",
            "%2e",
            "%2f",
            "%5c",
            "\\",
            "%00",
            "updir",
            "escape.txt",
            "sub",
            "hello.txt",
            "%",
            "%e4%b8%ad",
            "//",
            "%252e",
            "outside.txt",
            ".secret",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let (mut files, mut escapes_tried) = (0, 0);
        for _ in 0..20_000 {
            let mut path = String::from("/");
            for _ in 0..(xorshift(&mut state) % 7) {
                path.push_str(pieces[(xorshift(&mut state) >> 11) as usize % pieces.len()]);
            }
            if path.contains("updir/outside.txt") || path.contains("escape.txt") {
                escapes_tried += 1;
            }
            if let Some(Resolved::File(p)) = resolve(&root, &path) {
                assert!(p.starts_with(&root), "{path} resolved to {}", p.display());
                assert!(!p.ends_with("outside.txt"), "{path}");
                files += 1;
            }
        }
        // The generator must reach both real files and the symlinks out of the root.
        assert!(
            files > 0 && escapes_tried > 0,
            "{files} files, {escapes_tried} escapes"
        );
    }

    #[test]
    fn ordinary_paths_resolve_inside_the_root() {
        let (_top, root) = fixture();
        let good = [
            ("/hello.txt", "hello.txt"),
            ("//hello.txt", "hello.txt"),
            ("/a%20b.txt", "a b.txt"),
            ("/%E4%B8%AD%E6%96%87.txt", "中文.txt"),
            ("/sub/", "sub/index.html"),
            ("/sub/x.css", "sub/x.css"),
            ("/inside.txt", "hello.txt"),
        ];
        for (path, want) in good {
            assert_eq!(
                resolve(&root, path),
                Some(Resolved::File(root.join(want))),
                "{path}"
            );
        }
        assert_eq!(resolve(&root, "/sub"), Some(Resolved::Dir));
    }

    #[test]
    fn range_table() {
        use ByteRange::*;
        let cases = [
            ("bytes=0-99", 1000, Part { first: 0, last: 99 }),
            ("bytes=0-0", 1000, Part { first: 0, last: 0 }),
            (
                "bytes=10-",
                1000,
                Part {
                    first: 10,
                    last: 999,
                },
            ),
            (
                "bytes=-100",
                1000,
                Part {
                    first: 900,
                    last: 999,
                },
            ),
            (
                "bytes=-5000",
                1000,
                Part {
                    first: 0,
                    last: 999,
                },
            ),
            (
                "bytes=900-5000",
                1000,
                Part {
                    first: 900,
                    last: 999,
                },
            ),
            (
                "bytes=999-999",
                1000,
                Part {
                    first: 999,
                    last: 999,
                },
            ),
            ("Bytes = 1-2", 1000, Part { first: 1, last: 2 }),
            ("bytes=1000-", 1000, Unsatisfiable),
            ("bytes=1000-2000", 1000, Unsatisfiable),
            ("bytes=-0", 1000, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-1", 0, Unsatisfiable),
            ("bytes=99999999999999999999999-", 10, Unsatisfiable),
            ("bytes=5-1", 1000, Full),
            ("bytes=0-1,5-6", 1000, Full),
            ("bytes=a-b", 1000, Full),
            ("bytes=-", 1000, Full),
            ("bytes=", 1000, Full),
            ("items=0-1", 1000, Full),
            ("0-1", 1000, Full),
            ("bytes=+1-2", 1000, Full),
        ];
        for (header, len, want) in cases {
            assert_eq!(parse_range(header, len), want, "{header} of {len}");
        }
    }

    #[test]
    fn text_types_carry_a_charset() {
        assert_eq!(content_type(Path::new("a.css")), "text/css; charset=utf-8");
        assert_eq!(
            content_type(Path::new("a.txt")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.png")), "image/png");
        assert_eq!(
            content_type(Path::new("a.unknownext")),
            "application/octet-stream"
        );
    }
}
