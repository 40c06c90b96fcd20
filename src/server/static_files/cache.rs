//! What the server knows of each static file it has served: where the path resolved to, its
//! validators and headers, and the bytes of small files. One `stat` per request revalidates an
//! entry, so a changed file is never served stale; path resolution (many syscalls) and
//! reading a small file happen again only when the file changed.

use crate::sync::Unpoisoned;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::UNIX_EPOCH;

use super::encoded::Codings;
use super::hidden::Hidden;
use super::path::{resolve, Resolved};
use super::version::{self, FileVersion};
use crate::http::strong_etag;

/// Files up to this size are kept in memory and sent with the head in one `write`.
const SMALL_FILE: u64 = 64 * 1024;
/// Distinct request paths remembered at most; past this the cache starts over, so that a client
/// inventing spellings of paths (`//a`, `/%61`) cannot grow it without bound.
const MAX_CACHED_PATHS: usize = 4096;
/// File bytes held in memory at most, over all files. Spellings of one path share one copy.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// What a request path names, as the cache knows it.
pub(crate) enum Cached {
    File(Arc<CachedFile>),
    /// A directory named without its trailing `/`; whether it has an `index.html`.
    Dir {
        indexed: bool,
    },
    /// A directory without `index.html`, named with its `/`, to list: (root, directory),
    /// both canonical.
    Listing(PathBuf, PathBuf),
    Missing,
}

/// A static file as last seen on disk, or one compiled into the binary.
pub(crate) struct CachedFile {
    /// The canonical path, inside the static root; for a built-in file, its name.
    pub path: PathBuf,
    pub len: u64,
    /// Modification time in whole seconds, as HTTP dates carry it.
    pub modified_secs: Option<u64>,
    pub etag: String,
    pub last_modified: Option<String>,
    pub content_type: String,
    /// The whole file, for small files.
    pub body: Option<Arc<[u8]>>,
    /// Its compressed forms, on disk beside it or made from it.
    pub codings: Codings,
    /// What identifies this version of the file: (inode, size, mtime in ns); `None` for a
    /// built-in file, which never changes.
    version: Option<FileVersion>,
}

impl CachedFile {
    /// A file compiled into the binary, named by its path under the static folder.
    pub fn builtin(name: &str, bytes: &'static [u8]) -> CachedFile {
        CachedFile {
            path: PathBuf::from(name),
            len: bytes.len() as u64,
            modified_secs: None,
            // Strong, from the content: the same binary always sends the same validator.
            etag: strong_etag(bytes),
            last_modified: None,
            codings: Codings::builtin(bytes.len() as u64, &content_type(Path::new(name))),
            content_type: content_type(Path::new(name)),
            body: Some(Arc::from(bytes)),
            version: None,
        }
    }
}

/// The cache's maps, under one lock.
#[derive(Default)]
struct Entries {
    /// By raw request path: the fast path, one hash lookup.
    by_request: HashMap<String, Arc<CachedFile>>,
    /// By canonical path, so that every spelling of a path shares one entry and one copy.
    by_file: HashMap<PathBuf, Arc<CachedFile>>,
    /// Bytes of file contents held by `by_file`.
    body_bytes: usize,
}

/// Static files by request path.
#[derive(Default)]
pub(crate) struct FileCache {
    entries: RwLock<Entries>,
}

impl FileCache {
    /// Resolves `raw_path` under `root` (canonical), from memory when the file is unchanged;
    /// `listings` lets a folder without `index.html` be named.
    pub fn lookup(&self, root: &Path, raw_path: &str, listings: bool, hidden: &Hidden) -> Cached {
        let known = self.read().by_request.get(raw_path).cloned();
        if let Some(entry) = &known {
            if is_current(entry) {
                return Cached::File(entry.clone());
            }
        }
        let path = match resolve(root, raw_path, listings, hidden) {
            Some(Resolved::File(p)) => p,
            Some(Resolved::Dir { indexed }) => return Cached::Dir { indexed },
            Some(Resolved::Listing(dir)) => return Cached::Listing(root.to_path_buf(), dir),
            None => {
                if known.is_some() {
                    self.write().by_request.remove(raw_path);
                }
                return Cached::Missing;
            }
        };
        let shared = self.read().by_file.get(&path).cloned();
        let entry = match shared.filter(|e| is_current(e)) {
            Some(entry) => entry,
            None => {
                let room = MAX_BODY_BYTES.saturating_sub(self.read().body_bytes);
                match load(path, root, room) {
                    Ok(entry) => Arc::new(entry),
                    Err(e) => {
                        log::warn!("{raw_path}: {e}");
                        return Cached::Missing;
                    }
                }
            }
        };
        self.remember(raw_path, &entry);
        Cached::File(entry)
    }

    fn remember(&self, raw_path: &str, entry: &Arc<CachedFile>) {
        let mut entries = self.write();
        if entries.by_request.len() >= MAX_CACHED_PATHS {
            *entries = Entries::default();
        }
        let size = |e: &CachedFile| e.body.as_ref().map_or(0, |b| b.len());
        if let Some(old) = entries.by_file.insert(entry.path.clone(), entry.clone()) {
            entries.body_bytes -= size(&old);
        }
        entries.body_bytes += size(entry);
        entries
            .by_request
            .insert(raw_path.to_string(), entry.clone());
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unpoisoned()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unpoisoned()
    }
}

/// Whether the file on disk is still the version `entry` describes (one `stat`), with the
/// same precompressed siblings (looked at once a second).
fn is_current(entry: &CachedFile) -> bool {
    entry.version.is_none_or(|known| {
        version::current(&entry.path) == Some(known) && entry.codings.still_current(&entry.path)
    })
}

/// The `Content-Type` for a file name: `mime_guess`, with `charset=utf-8` on text types.
pub(crate) fn content_type(path: &Path) -> String {
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

/// Reads what the responses need from the file at `path` (canonical, inside `root`); its
/// bytes too if it is small and fits in `room`.
fn load(path: PathBuf, root: &Path, room: usize) -> std::io::Result<CachedFile> {
    let mut file = File::open(&path)?;
    let meta = file.metadata()?;
    let modified = meta.modified().ok();
    let since_epoch = modified.and_then(|m| m.duration_since(UNIX_EPOCH).ok());
    let body = if meta.len() <= SMALL_FILE && meta.len() <= room as u64 {
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes)?;
        Some(Arc::from(bytes))
    } else {
        None
    };
    let len = body
        .as_ref()
        .map_or(meta.len(), |b: &Arc<[u8]>| b.len() as u64);
    let content_type = content_type(&path);
    Ok(CachedFile {
        codings: Codings::find(&path, root, len, version::mtime_ns(&meta), &content_type),
        content_type,
        len,
        modified_secs: since_epoch.map(|d| d.as_secs()),
        // A strong validator: modification time (ns) and size, as nginx builds it.
        etag: format!(
            "\"{:x}-{:x}\"",
            since_epoch.map_or(0, |d| d.as_nanos()),
            len
        ),
        last_modified: modified.map(httpdate::fmt_http_date),
        body,
        version: Some(version::of(&meta)),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_path_share_one_entry() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "aaaa").unwrap();
        let root = dir.path().canonicalize().unwrap();
        let cache = FileCache::default();
        let mut seen = Vec::new();
        for spelling in ["/a.txt", "//a.txt", "/%61.txt", "/a%2Etxt"] {
            match cache.lookup(&root, spelling, false, &Hidden::default()) {
                Cached::File(f) => seen.push(f),
                _ => panic!("{spelling} did not resolve"),
            }
        }
        assert!(seen.iter().all(|f| Arc::ptr_eq(f, &seen[0])));
        assert_eq!(cache.read().body_bytes, 4);
        assert_eq!(cache.read().by_request.len(), 4);
    }

    #[test]
    fn bodies_beyond_the_budget_stay_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "aaaa").unwrap();
        let loaded = load(dir.path().join("a.txt"), dir.path(), 3).unwrap();
        assert!(loaded.body.is_none());
        assert_eq!(loaded.len, 4);
        assert!(load(dir.path().join("a.txt"), dir.path(), 4)
            .unwrap()
            .body
            .is_some());
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
