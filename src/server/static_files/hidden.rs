//! The files a static root never serves nor lists, whatever the request: the database and
//! the config file that the server was told of, and any SQLite file by its name. A folder
//! served as a whole (`miniweb -d .`) often holds them, and they are the site's data, its
//! settings, or someone else's.

use std::path::{Path, PathBuf};

/// Endings of SQLite databases and of the files SQLite keeps beside them.
const SQLITE_ENDINGS: &[&str] = &[".db", ".sqlite", ".sqlite3"];
const SQLITE_SIBLINGS: &[&str] = &["", "-wal", "-shm", "-journal"];

/// Files never served: canonical paths, and the SQLite naming rule.
#[derive(Debug, Default, Clone)]
pub(crate) struct Hidden {
    paths: Vec<PathBuf>,
}

impl Hidden {
    /// `files` as they will be found: canonical where they exist, else as given (a
    /// database not created yet), each with SQLite's `-wal`, `-shm` and `-journal`.
    pub fn new(files: &[PathBuf]) -> Hidden {
        let mut paths = Vec::new();
        for file in files {
            let file = file
                .canonicalize()
                .unwrap_or_else(|_| canonical_parent(file));
            for sibling in SQLITE_SIBLINGS {
                let mut name = file.clone().into_os_string();
                name.push(sibling);
                paths.push(PathBuf::from(name));
            }
        }
        Hidden { paths }
    }

    /// Whether the file at `real` (a canonical path) must not be served or listed.
    pub fn hides(&self, real: &Path) -> bool {
        is_sqlite_name(real) || self.paths.iter().any(|p| p == real)
    }
}

/// `file` with its folder made canonical, for a file that does not exist yet.
fn canonical_parent(file: &Path) -> PathBuf {
    match (file.parent().map(Path::canonicalize), file.file_name()) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        _ => file.to_path_buf(),
    }
}

/// `stock.db`, `x.sqlite3-wal`, `a.db-journal`: a SQLite file by its name.
fn is_sqlite_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    SQLITE_SIBLINGS.iter().any(|sibling| {
        name.strip_suffix(sibling)
            .is_some_and(|stem| SQLITE_ENDINGS.iter().any(|e| stem.ends_with(e)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_hidden_by_name() {
        let hidden = Hidden::default();
        for name in [
            "/srv/stock.db",
            "/srv/stock.db-wal",
            "/srv/stock.db-shm",
            "/srv/a.DB-journal",
            "/srv/x.sqlite",
            "/srv/x.sqlite3-wal",
        ] {
            assert!(hidden.hides(Path::new(name)), "{name}");
        }
        for name in [
            "/srv/db",
            "/srv/notes.txt",
            "/srv/db.html",
            "/srv/x.dbx",
            "/srv/.db.txt",
        ] {
            assert!(!hidden.hides(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn named_files_are_hidden_with_their_siblings() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("site.toml");
        std::fs::write(&config, "").unwrap();
        let data = dir.path().join("data.bin");
        let hidden = Hidden::new(&[config.clone(), data.clone()]);
        let real = dir.path().canonicalize().unwrap();
        assert!(hidden.hides(&real.join("site.toml")));
        assert!(hidden.hides(&real.join("data.bin")), "not created yet");
        assert!(hidden.hides(&real.join("data.bin-wal")));
        assert!(!hidden.hides(&real.join("other.toml")));
    }
}
