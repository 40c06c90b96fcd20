//! SQLite, the embedded default: a small pool of configured connections to one file in WAL
//! mode, the migration runner (the version kept in `PRAGMA user_version`), and a cheap "has
//! anything changed?" probe for the page cache.

use crate::sync::Unpoisoned;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

use super::migrations::Migration;
use super::pool::{Pool, PoolError, POOL_WAIT};
use super::sql::{DbError, Param, Row, SqlError};

/// How long a writer waits for another writer before giving up with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The WAL-index header at the start of the `-shm` file: two copies of a 48-byte header that
/// every commit, by any connection of any process, rewrites (its change counter, last frame
/// and checksums), as <https://www.sqlite.org/walformat.html#the_wal_index_header> describes
/// for the unix VFS. That page documents an implementation, not a promise: processes built
/// with different SQLite versions share this memory, so it has had to stay put, but the test
/// `the_wal_index_probe_never_hides_a_commit` is what holds the bundled SQLite to it on every
/// upgrade.
const WAL_INDEX_HEADER: usize = 96;

/// A pool of connections to one SQLite file.
pub struct SqliteDb {
    path: PathBuf,
    /// Bounded: every connection holds a descriptor of the file (which the unix VFS keeps
    /// after close while another connection holds a lock), its prepared statements and a
    /// page cache of its own.
    pool: Pool<Connection>,
    /// A connection that never writes, so that its `PRAGMA data_version` changes on every commit
    /// by anyone: this process's other connections or another process.
    watcher: Mutex<Watcher>,
    /// The `-shm` file, read for the WAL-index header (None when not in WAL mode).
    shm: Option<File>,
}

/// The watcher connection and what it last saw.
struct Watcher {
    conn: Connection,
    /// The WAL-index header read just before the last `PRAGMA data_version`, and what that
    /// returned. While the header reads the same, no commit has happened since, and the
    /// version stands without asking SQLite.
    seen: Option<(Box<[u8; WAL_INDEX_HEADER]>, i64)>,
}

impl SqliteDb {
    /// Opens (creating if needed) the database at `path` in WAL mode, for at most `max_open`
    /// connections at once (the watcher aside).
    pub fn open(path: &Path, max_open: usize) -> Result<SqliteDb, DbError> {
        let fail = |e: rusqlite::Error| DbError(format!("database {}: {e}", path.display()));
        let first = open_connection(path).map_err(fail)?;
        // WAL lets readers go on while one writer commits; the mode is stored in the file.
        let mode: String = first
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            log::warn!(
                "database {}: journal mode is {mode}, not WAL",
                path.display()
            );
        }
        let watcher = open_connection(path).map_err(fail)?;
        // The WAL-index exists once a connection has read in WAL mode, which the pragma did.
        // Probed on Unix only: Windows locks byte ranges of the file for real (mandatory
        // locks), and a read beside SQLite's would be a new way to fail for a saving of two
        // syscalls; there the pragma runs every time.
        let shm = if cfg!(unix) && mode.eq_ignore_ascii_case("wal") {
            let mut name = path.as_os_str().to_owned();
            name.push("-shm");
            File::open(&name)
                .map_err(|e| {
                    log::warn!(
                        "database {}: {e}; checking data_version every time",
                        path.display()
                    )
                })
                .ok()
        } else {
            None
        };
        Ok(SqliteDb {
            path: path.to_path_buf(),
            pool: Pool::new(max_open, POOL_WAIT, first),
            watcher: Mutex::new(Watcher {
                conn: watcher,
                seen: None,
            }),
            shm,
        })
    }

    /// A connection from the pool, with the statements it has prepared (or a new one while
    /// fewer than the bound are open); it goes back to the pool when dropped. Past the wait,
    /// the database is busy (a 503).
    pub fn get(&self) -> Result<SqliteConn<'_>, SqlError> {
        let conn = self
            .pool
            .get(|| open_connection(&self.path), |_| true)
            .map_err(|e| match e {
                PoolError::Connect(e) => SqlError::Sqlite(e),
                PoolError::Busy { max_open, waited } => SqlError::Unavailable(format!(
                    "all {max_open} connections to {} busy for {waited:.1?}",
                    self.path.display()
                )),
            })?;
        Ok(SqliteConn {
            db: self,
            conn: Some(conn),
        })
    }

    /// A number that changes whenever any connection, in this process or another, commits a
    /// change to the database (`PRAGMA data_version` of a connection that never writes).
    ///
    /// Asked on every page-cache hit, so it is made cheap: the pragma opens and closes a read
    /// transaction (two `fcntl` locks and an `fstat`), while one `pread` of the WAL-index
    /// header tells whether anything was committed since it was last asked. The header is read
    /// *before* the pragma runs, so a commit landing between the two changes the header and the
    /// next call asks again: a stale version is never returned, at worst a page is rendered
    /// once more than needed.
    pub fn data_version(&self) -> Result<i64, rusqlite::Error> {
        let header = self.shm.as_ref().and_then(wal_index_header);
        let mut watcher = self.watcher.lock().unpoisoned();
        if let (Some(now), Some((then, version))) = (&header, &watcher.seen) {
            if now == &**then {
                return Ok(*version);
            }
        }
        // Cached: parsing the pragma again costs more than running it.
        let version = watcher
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        watcher.seen = header.map(|h| (Box::new(h), version));
        Ok(version)
    }

    /// Applies the migrations newer than `PRAGMA user_version`, each in its own transaction
    /// together with the new `user_version`.
    pub(super) fn apply(&self, migrations: Vec<Migration>) -> Result<Vec<String>, DbError> {
        let mut pooled = self
            .get()
            .map_err(|e| DbError(format!("database {}: {e}", self.path.display())))?;
        let conn = pooled.connection();
        let current: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| DbError(format!("database {}: {e}", self.path.display())))?;
        let mut applied = Vec::new();
        for m in migrations.into_iter().filter(|m| m.number > current) {
            let name = m.name;
            let fail = |e: rusqlite::Error| DbError(format!("migration {name} failed: {e}"));
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(fail)?;
            tx.execute_batch(&m.sql).map_err(fail)?;
            // PRAGMA takes no parameters; `number` is an integer we parsed, not client input.
            tx.execute_batch(&format!("PRAGMA user_version = {}", m.number))
                .map_err(fail)?;
            tx.commit().map_err(fail)?;
            log::info!("applied migration {name}");
            applied.push(name);
        }
        Ok(applied)
    }

    /// Copies every committed write from the WAL into the main file and empties the WAL
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`), then closes the idle connections. Connections still
    /// in use stay open, and a checkpoint they block is reported.
    pub fn close(&self) -> Result<(), DbError> {
        let fail = |e: rusqlite::Error| DbError(format!("database {}: {e}", self.path.display()));
        let mut pooled = self
            .get()
            .map_err(|e| DbError(format!("database {}: {e}", self.path.display())))?;
        let (busy, frames, copied): (i64, i64, i64) = pooled
            .connection()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(fail)?;
        drop(pooled);
        self.pool.close_idle();
        if busy != 0 {
            return Err(DbError(format!(
                "database {}: checkpoint blocked by a connection still in use ({copied} of {frames} pages copied)",
                self.path.display()
            )));
        }
        log::info!("database {} checkpointed and closed", self.path.display());
        Ok(())
    }
}

/// Opens one connection with the settings every connection needs.
fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
    Ok(conn)
}

/// A pooled SQLite connection.
pub struct SqliteConn<'a> {
    db: &'a SqliteDb,
    conn: Option<Connection>,
}

impl SqliteConn<'_> {
    /// The rusqlite connection itself.
    pub fn connection(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }

    pub(super) fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError> {
        let mut stmt = self.connection().prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params))? as u64)
    }

    pub(super) fn execute_batch(&mut self, sql: &str) -> Result<(), rusqlite::Error> {
        self.connection().execute_batch(sql)
    }

    pub(super) fn query_map<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut map: impl FnMut(&Row<'_>) -> Result<T, SqlError>,
    ) -> Result<Vec<T>, SqlError> {
        // Cached: parsing a statement costs more than running it, on the page's hot path.
        let mut stmt = self.connection().prepare_cached(sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(map(&Row::Sqlite(row))?);
        }
        Ok(out)
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Int(n) => ToSqlOutput::Owned(Value::Integer(*n)),
        })
    }
}

impl Drop for SqliteConn<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A connection left inside a transaction (a panic mid-handler) is not reused.
        if conn.is_autocommit() {
            self.db.pool.put(conn);
        } else {
            drop(conn);
            self.db.pool.closed();
        }
    }
}

/// The WAL-index header, read at offset 0 without moving a shared file position.
#[cfg(unix)]
fn wal_index_header(shm: &File) -> Option<[u8; WAL_INDEX_HEADER]> {
    use std::os::unix::fs::FileExt;
    let mut header = [0u8; WAL_INDEX_HEADER];
    shm.read_exact_at(&mut header, 0).ok().map(|()| header)
}

/// Never opened off Unix (see [`SqliteDb::open`]).
#[cfg(not(unix))]
fn wal_index_header(_shm: &File) -> Option<[u8; WAL_INDEX_HEADER]> {
    None
}

#[cfg(test)]
mod tests {
    use super::super::{Db, Location};
    use super::*;
    use std::fs;

    fn setup(files: &[(&str, &str)]) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let mig = dir.path().join("migrations");
        fs::create_dir(&mig).unwrap();
        for (name, sql) in files {
            fs::write(mig.join(name), sql).unwrap();
        }
        let db = Db::open(&Location::Sqlite(dir.path().join("t.db")), 8).unwrap();
        (dir, db)
    }

    #[test]
    fn migrations_apply_in_order_once() {
        let (dir, db) = setup(&[
            ("0002_rows.sql", "INSERT INTO t VALUES (1);"),
            ("0001_table.sql", "CREATE TABLE t (x INTEGER);"),
            ("README.md", "not sql"),
        ]);
        let mig = dir.path().join("migrations");
        assert_eq!(db.migrate(&mig).unwrap().len(), 2);
        assert!(db.migrate(&mig).unwrap().is_empty());
        let n: i64 = db
            .get()
            .unwrap()
            .query_row("SELECT count(*) FROM t", &[], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_failing_migration_is_named_and_rolled_back() {
        let (dir, db) = setup(&[
            ("0001_table.sql", "CREATE TABLE t (x INTEGER);"),
            (
                "0002_bad.sql",
                "CREATE TABLE u (y INTEGER); INSERT INTO nowhere VALUES (1);",
            ),
        ]);
        let err = db.migrate(&dir.path().join("migrations")).unwrap_err().0;
        assert!(err.contains("0002_bad.sql"), "{err}");
        let mut conn = db.get().unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", &[], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        let u: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                &["u".into()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(u, 0, "the failing file's table must be rolled back");
    }

    #[test]
    fn data_version_moves_on_every_commit() {
        let (dir, db) = setup(&[("0001_table.sql", "CREATE TABLE t (x INTEGER);")]);
        db.migrate(&dir.path().join("migrations")).unwrap();
        let before = db.data_version().unwrap();
        db.get()
            .unwrap()
            .execute("INSERT INTO t VALUES (?1)", &[1.into()])
            .unwrap();
        let after = db.data_version().unwrap();
        assert_ne!(before, after);
        // Another process's write, simulated by a connection outside the pool.
        let other = Connection::open(dir.path().join("t.db")).unwrap();
        other.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_ne!(db.data_version().unwrap(), after);
    }

    #[test]
    fn the_wal_index_probe_never_hides_a_commit() {
        let (dir, db) = setup(&[("0001_table.sql", "CREATE TABLE t (x INTEGER);")]);
        db.migrate(&dir.path().join("migrations")).unwrap();
        #[cfg_attr(not(feature = "postgres"), allow(irrefutable_let_patterns))]
        let Db::Sqlite(sqlite) = &db
        else {
            unreachable!("setup opens SQLite")
        };
        assert!(sqlite.shm.is_some(), "WAL mode has a -shm file to probe");
        let other = Connection::open(dir.path().join("t.db")).unwrap();
        let mut last = db.data_version().unwrap();
        assert!(
            sqlite.watcher.lock().unwrap().seen.is_some(),
            "the probe is armed"
        );
        assert_eq!(
            db.data_version().unwrap(),
            last,
            "nothing committed, same version"
        );
        for (i, sql) in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET x = x + 1",
            // A checkpoint that restarts the WAL: the next commit writes its first frame
            // again, and must still be seen.
            "PRAGMA wal_checkpoint(TRUNCATE)",
            "INSERT INTO t VALUES (3)",
            "DELETE FROM t",
        ]
        .into_iter()
        .enumerate()
        {
            other.execute_batch(sql).unwrap();
            let now = db.data_version().unwrap();
            if !sql.starts_with("PRAGMA") {
                assert_ne!(now, last, "commit {i} ({sql}) not seen");
            }
            assert_eq!(db.data_version().unwrap(), now, "asked twice after {sql}");
            last = now;
        }
    }
}
