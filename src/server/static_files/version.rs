//! What identifies one version of a file on disk, compared on every use of a cached entry.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// (inode, size, modification time in ns): a change of any means a new version, including a
/// file replaced by rename, as editors and deploy tools save.
pub(crate) type Version = (u64, u64, i128);

/// The version `meta` describes.
pub(crate) fn of(meta: &Metadata) -> Version {
    (meta.ino(), meta.len(), mtime_ns(meta))
}

/// The modification time in nanoseconds since the epoch.
pub(crate) fn mtime_ns(meta: &Metadata) -> i128 {
    meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128
}

/// The version of the file at `path` now; `None` if it cannot be read.
pub(crate) fn current(path: &Path) -> Option<Version> {
    std::fs::metadata(path).ok().map(|m| of(&m))
}
