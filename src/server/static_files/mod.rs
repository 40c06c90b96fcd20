//! The static-file server: files under the static root served as they are, with MIME types,
//! conditional requests (ETag, Last-Modified) and single byte ranges, the body streamed from
//! disk or from memory. A learner can read this folder alone:
//!
//! - `path.rs` resolves a request path safely (the hostile-path table is there);
//! - `cache.rs` remembers what each path resolved to, revalidated with one `stat`;
//! - `encoded.rs` keeps each file's compressed forms (precompressed siblings, or made once);
//! - `range.rs` parses `Range`;
//! - `listing.rs` lists a folder without `index.html`, when listings are on, sorted as asked;
//! - `archive.rs` streams a listed folder as a `.tar.gz` or `.zip`, when archives are on;
//! - this file answers a request: method, preconditions, range, body.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

mod archive;
mod cache;
mod encoded;
mod hidden;
mod listing;
pub(crate) mod path;
mod range;
mod version;

pub(crate) use cache::Cached;
use cache::{CachedFile, FileCache};
use encoded::CodedForm;
use hidden::Hidden;
pub(crate) use path::clean as clean_path;
use range::{parse_range, ByteRange};

use super::settings::ServerConfig;
use crate::encoding::negotiate;
use crate::http::{decode_pairs, etag_list_matches, Body, Request, Response};

/// Methods static files answer to.
const ALLOW: &str = "GET, HEAD, OPTIONS";

/// The files the server answers for: the user's folder (`-d DIR`) if any, then the site's
/// static folder, or the site's built-in files when that folder does not exist.
pub(crate) struct StaticFiles {
    /// Folders searched in order, each with what is known of its files.
    roots: Vec<Root>,
    /// The built-in files by path (`css/site.css`), when the static folder does not exist.
    builtin: HashMap<String, Arc<CachedFile>>,
    /// `Cache-Control` of every file.
    cache_control: String,
    /// Whether folders without `index.html` are listed.
    autoindex: bool,
    /// Whether compressible files are compressed (siblings are served either way).
    compression: bool,
    /// What the HTML listing links to for its style.
    stylesheet: Option<String>,
    /// Whether a listed folder may be downloaded as an archive.
    archives: bool,
    /// Whether the listing shows a form to upload files.
    upload_form: bool,
    /// Files never served nor listed (the database, the config file).
    hidden: Hidden,
}

/// One folder of files.
struct Root {
    /// The folder, canonical, so that containment checks are plain prefixes.
    dir: PathBuf,
    cache: FileCache,
}

impl Root {
    fn open(dir: &Path) -> Result<Root, (PathBuf, io::Error)> {
        let canonical = dir.canonicalize().map_err(|e| (dir.to_path_buf(), e))?;
        if !canonical.is_dir() {
            let e = io::Error::new(io::ErrorKind::NotADirectory, "not a folder");
            return Err((dir.to_path_buf(), e));
        }
        Ok(Root {
            dir: canonical,
            cache: FileCache::default(),
        })
    }
}

impl StaticFiles {
    /// The files `config` names. `Err` names a folder that cannot be used: a document root
    /// that does not exist, or a static folder that cannot be opened (one that does not exist
    /// is replaced by the built-in files, or by none).
    pub fn open(config: &ServerConfig) -> Result<StaticFiles, (PathBuf, io::Error)> {
        let mut roots = Vec::new();
        if let Some(dir) = &config.document_root {
            roots.push(Root::open(dir)?);
        }
        let mut builtin = HashMap::new();
        match config.static_dir.as_deref().map(Root::open) {
            Some(Ok(root)) => roots.push(root),
            // A missing static folder is no error: the built-in files, if any, stand in.
            Some(Err((_, e))) if e.kind() == io::ErrorKind::NotFound => {
                for (name, bytes) in config.builtin_static {
                    let file = CachedFile::builtin(name, bytes);
                    builtin.insert(name.to_string(), Arc::new(file));
                }
            }
            Some(Err(e)) => return Err(e),
            None => {}
        }
        Ok(StaticFiles {
            roots,
            builtin,
            cache_control: config.cache_control.clone(),
            autoindex: config.autoindex,
            compression: config.compression,
            stylesheet: config.autoindex_stylesheet.clone(),
            archives: config.archives,
            upload_form: config.uploads.is_some(),
            hidden: Hidden::new(&config.never_served),
        })
    }

    /// Where files come from, in order, for the start-up log.
    pub fn sources(&self) -> String {
        if self.roots.is_empty() && self.builtin.is_empty() {
            return "none".to_string();
        }
        let mut names: Vec<String> = self
            .roots
            .iter()
            .map(|r| r.dir.display().to_string())
            .collect();
        if !self.builtin.is_empty() {
            names.push(format!("the {} built-in files", self.builtin.len()));
        }
        names.join(", then ")
    }

    /// What `raw_path` names: in the first folder that has it (from memory when the file is
    /// unchanged), else among the built-in files. A folder without `index.html` counts only
    /// when listings are on.
    pub fn lookup(&self, raw_path: &str) -> Cached {
        for root in &self.roots {
            match root
                .cache
                .lookup(&root.dir, raw_path, self.autoindex, &self.hidden)
            {
                Cached::Missing => continue,
                Cached::Dir { indexed: false } if !self.autoindex => continue,
                found => return found,
            }
        }
        if self.builtin.is_empty() {
            return Cached::Missing;
        }
        self.builtin_lookup(raw_path)
    }

    /// A built-in file by request path, through the same gate as files on disk; a path
    /// ending in `/` names `index.html`.
    fn builtin_lookup(&self, raw_path: &str) -> Cached {
        let Some((mut key, slash)) = path::clean(raw_path) else {
            return Cached::Missing;
        };
        if slash {
            if !key.is_empty() {
                key.push('/');
            }
            key.push_str("index.html");
        }
        match self.builtin.get(&key) {
            Some(file) => Cached::File(file.clone()),
            None => Cached::Missing,
        }
    }

    /// The folder uploads go into: the first one served.
    pub fn upload_root(&self) -> Option<&Path> {
        self.roots.first().map(|r| r.dir.as_path())
    }

    /// Whether the file at `real` (canonical) is one never served: the config file, a
    /// database.
    pub fn hides(&self, real: &Path) -> bool {
        self.hidden.hides(real)
    }

    /// A folder to list: as an archive if `?download=` asks for one (and archives are on),
    /// else its listing, sorted as `?sort=` and `?order=` ask.
    fn listed(&self, req: &Request, root: &Path, dir: &Path) -> Response {
        let Ok(query) = decode_pairs(req.query.as_bytes()) else {
            return Response::text(400, "the query is not UTF-8 once decoded\n");
        };
        if self.archives {
            match archive::Format::from_pairs(&query) {
                Some(Ok(format)) => return archive::respond(root, dir, &self.hidden, format),
                Some(Err(why)) => return Response::text(400, format!("{why}\n")),
                None => {}
            }
        }
        let order = match listing::Order::from_pairs(&query) {
            Ok(order) => order,
            Err(why) => return Response::text(400, format!("{why}\n")),
        };
        let offers = listing::Offers {
            stylesheet: self.stylesheet.as_deref(),
            upload_form: self.upload_form,
            archives: self.archives,
        };
        listing::respond(req, root, dir, order, offers, &self.hidden)
    }

    /// Answers `req` for what its path was found to name.
    pub fn serve(&self, req: &Request, found: Cached) -> Response {
        match req.method.as_str() {
            "GET" | "HEAD" => {}
            "OPTIONS" => return Response::new(204).with_header("Allow", ALLOW),
            _ => return Response::error_page(405).with_header("Allow", ALLOW),
        }
        match found {
            Cached::File(entry) => serve_file(req, &entry, &self.cache_control, self.compression),
            Cached::Listing(root, dir) => self.listed(req, &root, &dir),
            Cached::Dir { .. } => {
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

fn serve_file(req: &Request, f: &CachedFile, cache_control: &str, compression: bool) -> Response {
    // A coded form only for the whole file: ranges are of the identity form.
    let offer = f.codings.offer(compression);
    let coding = match req.header("Range") {
        Some(_) => None,
        None => negotiate(req.header("Accept-Encoding"), offer),
    };
    let form = coding.and_then(|c| {
        let body = f.body.as_deref();
        f.codings.form(c, &f.etag, body, &f.path, f.len)
    });
    let etag = form.as_ref().map_or(f.etag.as_str(), CodedForm::etag);
    let mut resp = Response::new(200)
        .with_header("ETag", etag)
        .with_header("Cache-Control", cache_control)
        .with_header("Accept-Ranges", "bytes");
    if !offer.is_empty() {
        resp = resp.with_header("Vary", "Accept-Encoding");
    }
    if let Some(m) = &f.last_modified {
        resp = resp.with_header("Last-Modified", m.clone());
    }

    // RFC 9110, section 13.2.2: preconditions in this order.
    if let Some(im) = req.header("If-Match") {
        if !etag_list_matches(im, etag, false) {
            return precondition_failed(resp);
        }
    } else if let Some(ius) = req.header("If-Unmodified-Since").and_then(http_secs) {
        if f.modified_secs.is_some_and(|m| m > ius) {
            return precondition_failed(resp);
        }
    }
    if let Some(inm) = req.header("If-None-Match") {
        if etag_list_matches(inm, etag, true) {
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
    if let Some(form) = form {
        if let Some(body) = coded_body(&form) {
            resp.headers
                .append("Content-Encoding", form.coding().token());
            return resp.with_body(body);
        }
        // The sibling went away between the look and the open: send the file as it is.
        resp.headers.set("ETag", f.etag.clone());
    }
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

/// The body of a coded form: from memory, or the sibling's file from disk.
fn coded_body(form: &CodedForm<'_>) -> Option<Body> {
    match form {
        CodedForm::InMemory(m) => Some(Body::Shared(m.bytes.clone())),
        CodedForm::Sibling(s) => match File::open(&s.path) {
            Ok(file) => Some(Body::File {
                file,
                start: 0,
                len: s.len,
            }),
            Err(e) => {
                log::warn!("{}: {e}", s.path.display());
                None
            }
        },
    }
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
