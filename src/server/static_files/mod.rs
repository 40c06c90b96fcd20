//! The static-file server: files under the static root served as they are, with MIME types,
//! conditional requests (ETag, Last-Modified) and single byte ranges, the body streamed from
//! disk or from memory. A learner can read this folder alone:
//!
//! - `path.rs` resolves a request path safely (the hostile-path table is there);
//! - `cache.rs` remembers what each path resolved to, revalidated with one `stat`;
//! - `range.rs` parses `Range`;
//! - this file answers a request: method, preconditions, range, body.

use std::fs::File;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

mod cache;
mod path;
mod range;

pub(crate) use cache::Cached;
use cache::{CachedFile, FileCache};
use range::{parse_range, ByteRange};

use crate::http::{etag_list_matches, Body, Request, Response};

/// Methods static files answer to.
const ALLOW: &str = "GET, HEAD, OPTIONS";

/// The files under one folder, and what is known of them.
pub(crate) struct StaticFiles {
    /// The folder, canonical, so that containment checks are plain prefixes.
    root: PathBuf,
    /// `Cache-Control` of every file.
    cache_control: String,
    cache: FileCache,
}

impl StaticFiles {
    /// The files under `root`, which must be canonical.
    pub fn new(root: PathBuf, cache_control: String) -> StaticFiles {
        StaticFiles {
            root,
            cache_control,
            cache: FileCache::default(),
        }
    }

    /// What `raw_path` names under the root (from memory when the file is unchanged).
    pub fn lookup(&self, raw_path: &str) -> Cached {
        self.cache.lookup(&self.root, raw_path)
    }

    /// Answers `req` for what its path was found to name.
    pub fn serve(&self, req: &Request, found: Cached) -> Response {
        match req.method.as_str() {
            "GET" | "HEAD" => {}
            "OPTIONS" => return Response::new(204).with_header("Allow", ALLOW),
            _ => return Response::error_page(405).with_header("Allow", ALLOW),
        }
        match found {
            Cached::File(entry) => serve_file(req, &entry, &self.cache_control),
            Cached::Dir => {
                let mut location = format!("{}/", req.raw_path());
                if !req.query.is_empty() {
                    location.push('?');
                    location.push_str(&req.query);
                }
                Response::redirect(301, &location)
            }
            Cached::Missing => Response::error_page(404),
        }
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
