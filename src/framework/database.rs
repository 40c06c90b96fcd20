//! SQLite access for handlers: a small pool of configured connections, the migration runner,
//! and a cheap "has anything changed?" probe for the page cache.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Connections kept open between requests; more may be opened under load and are closed when
/// returned to a full pool.
const MAX_IDLE: usize = 16;
/// How long a writer waits for another writer before giving up with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A database that cannot be opened or migrated; the message names the file at fault.
#[derive(Debug)]
pub struct DbError(pub String);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

/// A pool of connections to one SQLite file.
pub struct Db {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// A connection that never writes, so that its `PRAGMA data_version` changes on every commit
    /// by anyone: this process's other connections or another process.
    watcher: Mutex<Connection>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` in WAL mode.
    pub fn open(path: &Path) -> Result<Db, DbError> {
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
        Ok(Db {
            path: path.to_path_buf(),
            idle: Mutex::new(vec![first]),
            watcher: Mutex::new(watcher),
        })
    }

    /// A connection from the pool (or a new one); it goes back to the pool when dropped.
    pub fn get(&self) -> Result<PooledConnection<'_>, rusqlite::Error> {
        let reused = self.lock_idle().pop();
        let conn = match reused {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        Ok(PooledConnection {
            db: self,
            conn: Some(conn),
        })
    }

    /// A number that changes whenever any connection, in this process or another, commits a
    /// change to the database (`PRAGMA data_version` of a connection that never writes).
    pub fn data_version(&self) -> Result<i64, rusqlite::Error> {
        let watcher = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        // Cached: parsing the pragma again costs more than running it.
        let mut stmt = watcher.prepare_cached("PRAGMA data_version")?;
        stmt.query_row([], |r| r.get(0))
    }

    /// Applies the numbered `.sql` files of `dir` (`0001_schema.sql`, ...) that are newer than
    /// `PRAGMA user_version`, in order, each in its own transaction together with the new
    /// `user_version`. A failing file is rolled back and named in the error. Returns the names
    /// of the files applied.
    pub fn migrate(&self, dir: &Path) -> Result<Vec<String>, DbError> {
        self.apply(read_migrations(dir)?)
    }

    /// As `migrate`, with the migrations given as (file name, SQL) pairs: the ones compiled
    /// into a binary.
    pub fn migrate_builtin(&self, files: &[(&str, &[u8])]) -> Result<Vec<String>, DbError> {
        let mut found = Vec::new();
        for (name, bytes) in files {
            let sql = std::str::from_utf8(bytes)
                .map_err(|e| DbError(format!("built-in migration {name}: {e}")))?;
            found.push(Migration {
                number: number_of(name)?,
                name: format!("{name} (built in)"),
                sql: sql.to_string(),
            });
        }
        self.apply(in_order(found)?)
    }

    fn apply(&self, migrations: Vec<Migration>) -> Result<Vec<String>, DbError> {
        let mut conn = self
            .get()
            .map_err(|e| DbError(format!("database {}: {e}", self.path.display())))?;
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
        let conn = self.get().map_err(fail)?;
        let (busy, frames, copied): (i64, i64, i64) = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(fail)?;
        drop(conn);
        self.lock_idle().clear();
        if busy != 0 {
            return Err(DbError(format!(
                "database {}: checkpoint blocked by a connection still in use ({copied} of {frames} pages copied)",
                self.path.display()
            )));
        }
        log::info!("database {} checkpointed and closed", self.path.display());
        Ok(())
    }

    fn lock_idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
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

/// One numbered migration.
struct Migration {
    number: i64,
    name: String,
    sql: String,
}

/// The `.sql` files of `dir`, read, in order.
fn read_migrations(dir: &Path) -> Result<Vec<Migration>, DbError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| DbError(format!("migrations folder {}: {e}", dir.display())))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| DbError(format!("migrations folder {}: {e}", dir.display())))?
            .path();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !file_name.ends_with(".sql") {
            continue;
        }
        let name = path.display().to_string();
        let number = number_of(file_name).map_err(|_| {
            DbError(format!(
                "migration {name}: name must start with its number, as in 0001_schema.sql"
            ))
        })?;
        let sql = std::fs::read_to_string(&path)
            .map_err(|e| DbError(format!("migration {name}: {e}")))?;
        found.push(Migration { number, name, sql });
    }
    in_order(found)
}

/// The number a migration's file name starts with.
fn number_of(name: &str) -> Result<i64, DbError> {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<i64>().map_err(|_| {
        DbError(format!(
            "migration {name}: name must start with its number, as in 0001_schema.sql"
        ))
    })
}

/// Sorted by number; two with one number refuse to start.
fn in_order(mut found: Vec<Migration>) -> Result<Vec<Migration>, DbError> {
    found.sort_by_key(|m| m.number);
    if let Some(pair) = found.windows(2).find(|w| w[0].number == w[1].number) {
        return Err(DbError(format!(
            "migrations {} and {} have the same number",
            pair[0].name, pair[1].name
        )));
    }
    Ok(found)
}

/// A pooled connection; derefs to `rusqlite::Connection`.
pub struct PooledConnection<'a> {
    db: &'a Db,
    conn: Option<Connection>,
}

impl Deref for PooledConnection<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a pooled connection is present until dropped")
    }
}

impl DerefMut for PooledConnection<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A connection left inside a transaction (a panic mid-handler) is not reused.
        if !conn.is_autocommit() {
            return;
        }
        let mut idle = self.db.lock_idle();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn setup(files: &[(&str, &str)]) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let mig = dir.path().join("migrations");
        fs::create_dir(&mig).unwrap();
        for (name, sql) in files {
            fs::write(mig.join(name), sql).unwrap();
        }
        let db = Db::open(&dir.path().join("t.db")).unwrap();
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
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
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
        let conn = db.get().unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        let u: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'u'",
                [],
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
            .execute("INSERT INTO t VALUES (1)", [])
            .unwrap();
        let after = db.data_version().unwrap();
        assert_ne!(before, after);
        // Another process's write, simulated by a connection outside the pool.
        let other = Connection::open(dir.path().join("t.db")).unwrap();
        other.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_ne!(db.data_version().unwrap(), after);
    }
}
