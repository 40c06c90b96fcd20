//! The compressed forms of one static file: precompressed siblings on disk (`app.css.br`,
//! `app.css.gz`, served when fresher than the file, as nginx's `gzip_static` does), and forms
//! compressed once from the file when first asked for and kept in memory, never per request.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::version::{self, FileVersion};
use crate::encoding::{self, Coding, Effort, ALL};

/// Files larger than this are compressed only by a precompressed sibling.
const MAX_COMPRESS: u64 = 8 * 1024 * 1024;
/// Bytes of compressed forms kept in memory at most, over all files; past it, files go out
/// as they are (or as their siblings) until entries are dropped.
const MAX_IN_MEMORY_BYTES: usize = 32 * 1024 * 1024;
/// Seconds between two looks for siblings appearing or changing beside a cached file.
const PROBE_EVERY_SECS: u64 = 1;

/// Bytes held by every `InMemory` alive.
static IN_MEMORY_BYTES: AtomicUsize = AtomicUsize::new(0);

/// A precompressed file beside the original.
pub(crate) struct Sibling {
    pub coding: Coding,
    pub path: PathBuf,
    pub len: u64,
    pub etag: String,
    version: FileVersion,
    /// Whether it is at least as new as the original; an older one is never served.
    fresh: bool,
}

/// A form compressed from the file, in memory.
pub(crate) struct InMemory {
    pub coding: Coding,
    pub bytes: Arc<[u8]>,
    pub etag: String,
}

impl Drop for InMemory {
    fn drop(&mut self) {
        IN_MEMORY_BYTES.fetch_sub(self.bytes.len(), Ordering::Relaxed);
    }
}

/// One coded form, ready to send.
pub(crate) enum CodedForm<'a> {
    InMemory(&'a InMemory),
    Sibling(&'a Sibling),
}

impl CodedForm<'_> {
    /// The coding, for `Content-Encoding`.
    pub fn coding(&self) -> Coding {
        match self {
            CodedForm::InMemory(m) => m.coding,
            CodedForm::Sibling(s) => s.coding,
        }
    }

    /// The strong validator of this form.
    pub fn etag(&self) -> &str {
        match self {
            CodedForm::InMemory(m) => &m.etag,
            CodedForm::Sibling(s) => &s.etag,
        }
    }
}

/// Every coded form of one file, known or to be made.
pub(crate) struct Codings {
    siblings: Vec<Sibling>,
    /// Forms compressed from the file, by `Coding::index`; `Some(None)` once found not worth
    /// it (not smaller, too large, over the budget, or the file unreadable).
    made: [OnceLock<Option<InMemory>>; 2],
    /// The codings a client may be offered with compression on, and with it off (only the
    /// siblings), in the server's order of preference.
    offer_all: Vec<Coding>,
    offer_siblings: Vec<Coding>,
    /// When siblings were last looked for, in seconds since the first look of the process.
    probed: AtomicU64,
    /// Set for good once a look found the siblings changed: the entry must be reloaded.
    changed: AtomicBool,
}

impl Codings {
    /// The forms of the file at `path` (canonical, inside `root`), of `len` bytes, `mtime_ns`
    /// and `content_type`: its siblings are looked for now.
    pub fn find(path: &Path, root: &Path, len: u64, mtime_ns: i128, content_type: &str) -> Codings {
        let siblings = siblings_of(path, root, mtime_ns);
        let offer_siblings: Vec<Coding> = ALL
            .into_iter()
            .filter(|c| siblings.iter().any(|s| s.coding == *c && s.fresh))
            .collect();
        let makeable = encoding::compressible(content_type)
            && (encoding::MIN_SIZE..=MAX_COMPRESS).contains(&len);
        let offer_all = if makeable {
            ALL.to_vec()
        } else {
            offer_siblings.clone()
        };
        Codings {
            siblings,
            made: Default::default(),
            offer_all,
            offer_siblings,
            probed: AtomicU64::new(now_secs()),
            changed: AtomicBool::new(false),
        }
    }

    /// Codings for a built-in file: made from its bytes, no siblings (and never probed for
    /// any: a built-in file never changes, so its entry is never revalidated).
    pub fn builtin(len: u64, content_type: &str) -> Codings {
        let makeable = encoding::compressible(content_type) && len >= encoding::MIN_SIZE;
        Codings {
            siblings: Vec::new(),
            made: Default::default(),
            offer_all: if makeable { ALL.to_vec() } else { Vec::new() },
            offer_siblings: Vec::new(),
            probed: AtomicU64::new(now_secs()),
            changed: AtomicBool::new(false),
        }
    }

    /// The codings this file can be sent in: every one when `compression` is on and the file
    /// is worth compressing, else only those of fresh siblings.
    pub fn offer(&self, compression: bool) -> &[Coding] {
        if compression {
            &self.offer_all
        } else {
            &self.offer_siblings
        }
    }

    /// The form of `coding`: a fresh sibling, else one made from `body` (or from the file at
    /// `path`, `len` bytes, when `body` is `None`) on first use. `None` when not worth it.
    pub fn form(
        &self,
        coding: Coding,
        etag: &str,
        body: Option<&[u8]>,
        path: &Path,
        len: u64,
    ) -> Option<CodedForm<'_>> {
        if let Some(s) = self.siblings.iter().find(|s| s.coding == coding && s.fresh) {
            return Some(CodedForm::Sibling(s));
        }
        if !self.offer_all.contains(&coding) {
            return None;
        }
        self.made[coding.index()]
            .get_or_init(|| make(coding, etag, body, path, len))
            .as_ref()
            .map(CodedForm::InMemory)
    }

    /// Whether the siblings on disk are still those known: looked at again at most once a
    /// second (two `stat`s), so that a sibling added or rebuilt is served within a second
    /// without costing every request.
    pub fn still_current(&self, path: &Path) -> bool {
        if self.changed.load(Ordering::Relaxed) {
            return false;
        }
        let last = self.probed.load(Ordering::Relaxed);
        let now = now_secs();
        if now < last + PROBE_EVERY_SECS {
            return true;
        }
        self.probed.store(now, Ordering::Relaxed);
        let same = ALL.into_iter().all(|coding| {
            let known = self.siblings.iter().find(|s| s.coding == coding);
            let now = version::current(&sibling_path(path, coding));
            known.map(|s| s.version) == now
        });
        if !same {
            self.changed.store(true, Ordering::Relaxed);
        }
        same
    }
}

/// `app.css` -> `app.css.br`.
fn sibling_path(path: &Path, coding: Coding) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".");
    name.push(coding.extension());
    PathBuf::from(name)
}

/// The siblings of `path` that are regular files inside `root` (a symlink out of the root is
/// no sibling), fresh or not.
fn siblings_of(path: &Path, root: &Path, mtime_ns: i128) -> Vec<Sibling> {
    let mut found = Vec::new();
    for coding in ALL {
        let candidate = sibling_path(path, coding);
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        let inside = candidate
            .canonicalize()
            .is_ok_and(|real| real.starts_with(root));
        if !meta.is_file() || !inside {
            continue;
        }
        let sibling_mtime = version::mtime_ns(&meta);
        found.push(Sibling {
            coding,
            len: meta.len(),
            etag: format!(
                "\"{:x}-{:x}-{}\"",
                sibling_mtime,
                meta.len(),
                coding.extension()
            ),
            version: version::of(&meta),
            fresh: sibling_mtime >= mtime_ns,
            path: candidate,
        });
    }
    found
}

/// Compresses the file once; `None` when it is not worth keeping.
fn make(
    coding: Coding,
    etag: &str,
    body: Option<&[u8]>,
    path: &Path,
    len: u64,
) -> Option<InMemory> {
    if IN_MEMORY_BYTES.load(Ordering::Relaxed) >= MAX_IN_MEMORY_BYTES {
        log::debug!(
            "{}: compressed forms over budget, sent as is",
            path.display()
        );
        return None;
    }
    let read;
    let bytes = match body {
        Some(b) => b,
        None => {
            let mut buf = Vec::new();
            let file = File::open(path).ok()?;
            file.take(MAX_COMPRESS + 1).read_to_end(&mut buf).ok()?;
            // Changed since it was looked at: the next request sees the new version.
            if buf.len() as u64 != len {
                return None;
            }
            read = buf;
            &read
        }
    };
    let started = Instant::now();
    let out = match encoding::compress(coding, bytes, Effort::Best) {
        Ok(out) => out,
        Err(e) => {
            log::warn!("{}: {} failed: {e}", path.display(), coding.token());
            return None;
        }
    };
    log::debug!(
        "{}: {} {} -> {} bytes in {:?}",
        path.display(),
        coding.token(),
        bytes.len(),
        out.len(),
        started.elapsed()
    );
    if out.len() >= bytes.len() {
        return None;
    }
    IN_MEMORY_BYTES.fetch_add(out.len(), Ordering::Relaxed);
    Some(InMemory {
        coding,
        bytes: Arc::from(out),
        etag: coding.etag(etag),
    })
}

/// Whole seconds since the first call: a clock for probing that costs no syscall beyond
/// `Instant::now`.
fn now_secs() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs()
}
