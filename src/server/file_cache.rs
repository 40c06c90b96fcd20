//! What the server knows of each static file it has served: where the path resolved to, its
//! validators and headers, and the bytes of small files. One `stat` per request revalidates an
//! entry, so a changed file is never served stale; path resolution (many syscalls) and
//! reading a small file happen again only when the file changed.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::UNIX_EPOCH;

use super::files::{content_type, resolve, Resolved};

/// Files up to this size are kept in memory and sent with the head in one `write`.
const SMALL_FILE: u64 = 64 * 1024;
/// Distinct paths remembered at most; past this the cache starts over, so that a client
/// cannot grow it without bound.
const MAX_ENTRIES: usize = 4096;

/// What a request path names.
pub(crate) enum Lookup {
    File(Arc<CachedFile>),
    /// A directory named without its trailing `/`.
    Dir,
    Missing,
}

/// A static file as last seen on disk.
pub(crate) struct CachedFile {
    /// The canonical path, inside the static root.
    pub path: PathBuf,
    pub len: u64,
    /// Modification time in whole seconds, as HTTP dates carry it.
    pub modified_secs: Option<u64>,
    pub etag: String,
    pub last_modified: Option<String>,
    pub content_type: String,
    /// The whole file, for small files.
    pub body: Option<Arc<[u8]>>,
    /// What identifies this version of the file: (inode, size, mtime in ns).
    version: (u64, u64, i128),
}

/// Static files by raw request path.
#[derive(Default)]
pub(crate) struct FileCache {
    entries: RwLock<HashMap<String, Arc<CachedFile>>>,
}

impl FileCache {
    /// Resolves `raw_path` under `root` (canonical), from memory when the file is unchanged.
    pub fn lookup(&self, root: &Path, raw_path: &str) -> Lookup {
        let known = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(raw_path)
            .cloned();
        if let Some(entry) = &known {
            if std::fs::metadata(&entry.path).is_ok_and(|m| version(&m) == entry.version) {
                return Lookup::File(entry.clone());
            }
        }
        let path = match resolve(root, raw_path) {
            Some(Resolved::File(p)) => p,
            Some(Resolved::Dir) => return Lookup::Dir,
            None => {
                if known.is_some() {
                    self.forget(raw_path);
                }
                return Lookup::Missing;
            }
        };
        match load(path) {
            Ok(entry) => {
                let entry = Arc::new(entry);
                let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
                entries.insert(raw_path.to_string(), entry.clone());
                Lookup::File(entry)
            }
            Err(e) => {
                log::warn!("{raw_path}: {e}");
                Lookup::Missing
            }
        }
    }

    fn forget(&self, raw_path: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.remove(raw_path);
    }
}

fn version(meta: &Metadata) -> (u64, u64, i128) {
    let mtime = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
    (meta.ino(), meta.len(), mtime)
}

/// Reads what the responses need from the file at `path`.
fn load(path: PathBuf) -> std::io::Result<CachedFile> {
    let mut file = File::open(&path)?;
    let meta = file.metadata()?;
    let modified = meta.modified().ok();
    let since_epoch = modified.and_then(|m| m.duration_since(UNIX_EPOCH).ok());
    let body = if meta.len() <= SMALL_FILE {
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes)?;
        Some(Arc::from(bytes))
    } else {
        None
    };
    let len = body
        .as_ref()
        .map_or(meta.len(), |b: &Arc<[u8]>| b.len() as u64);
    Ok(CachedFile {
        content_type: content_type(&path),
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
        version: version(&meta),
        path,
    })
}
