//! What identifies one version of a file on disk, compared on every use of a cached entry.

use std::fs::Metadata;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// (identity, size, modification time in ns): a change of any means a new version, including
/// a file replaced by rename, as editors and deploy tools save.
pub(crate) type FileVersion = (u64, u64, i128);

/// The version `meta` describes.
pub(crate) fn of(meta: &Metadata) -> FileVersion {
    (identity(meta), meta.len(), mtime_ns(meta))
}

/// What tells one file from another at the same path: the inode on Unix.
#[cfg(unix)]
fn identity(meta: &Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

/// Elsewhere `std` has no stable file identity; the creation time stands in, which a new
/// file saved over an old one (by rename) changes.
#[cfg(not(unix))]
fn identity(meta: &Metadata) -> u64 {
    meta.created()
        .map(|t| nanos_since_epoch(t) as u64)
        .unwrap_or(0)
}

/// The modification time in nanoseconds since the epoch (0 where the system keeps none).
pub(crate) fn mtime_ns(meta: &Metadata) -> i128 {
    meta.modified().map(nanos_since_epoch).unwrap_or(0)
}

/// `t` in nanoseconds since the Unix epoch, negative before it.
fn nanos_since_epoch(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

/// The version of the file at `path` now; `None` if it cannot be read.
pub(crate) fn current(path: &Path) -> Option<FileVersion> {
    std::fs::metadata(path).ok().map(|m| of(&m))
}
