//! The database for handlers, SQLite (the embedded default) or PostgreSQL (when several
//! machines serve one site), behind one small backend-neutral layer: a pool of connections,
//! queries with numbered parameters (`?1`), typed columns, transactions, the numbered
//! migrations, and a version number that moves on every write by anyone, for the page cache.
//!
//! Handlers write their SQL once, in the dialect both backends share; where the dialects
//! differ (a schema), a migration has a per-backend file (`0001_schema.postgres.sql`).

mod migrations;
mod pool;
#[cfg(feature = "postgres")]
mod postgres;
mod sql;
mod sqlite;
mod text;

use std::path::Path;

#[cfg(feature = "postgres")]
pub use self::postgres::PgConn;
pub use self::sqlite::SqliteConn;
use migrations::Migration;
pub use sql::{Backend, Column, DbError, Location, Param, Row, SqlError};
pub use text::Text;

/// The database: a pool of connections to it. One per app, so the size of its variants does
/// not matter.
#[allow(clippy::large_enum_variant)]
pub enum Db {
    /// A SQLite file.
    Sqlite(sqlite::SqliteDb),
    /// A PostgreSQL server.
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgDb),
}

impl Db {
    /// Opens the database at `location`: a SQLite file (created if missing, WAL mode), or a
    /// first connection to the PostgreSQL server, which must answer. At most `connections`
    /// are open at once; a request that finds none free waits its turn (up to 5 s, then the
    /// database is busy: a 503 with `Retry-After`).
    pub fn open(location: &Location, connections: usize) -> Result<Db, DbError> {
        match location {
            Location::Sqlite(path) => sqlite::SqliteDb::open(path, connections).map(Db::Sqlite),
            #[cfg(feature = "postgres")]
            Location::Postgres(url) => postgres::PgDb::open(url, connections).map(Db::Postgres),
            #[cfg(not(feature = "postgres"))]
            Location::Postgres(_) => Err(DbError(format!(
                "database {location}: this program was built without PostgreSQL (the \
                 `postgres` feature of miniweb)"
            ))),
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection from the pool; it goes back when dropped.
    pub fn get(&self) -> Result<Conn<'_>, SqlError> {
        match self {
            Db::Sqlite(db) => Ok(Conn::Sqlite(db.get()?)),
            #[cfg(feature = "postgres")]
            Db::Postgres(db) => Ok(Conn::Postgres(db.get()?)),
        }
    }

    /// A number that changes whenever anyone commits a write, from this process or another:
    /// SQLite's `PRAGMA data_version`, or on PostgreSQL a row every write's trigger bumps.
    pub fn data_version(&self) -> Result<i64, SqlError> {
        match self {
            Db::Sqlite(db) => Ok(db.data_version()?),
            // Read on a pooled connection, so that requests check it in parallel (one round
            // trip each) rather than queueing on one connection.
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => {
                self.get()?
                    .query_row("SELECT version FROM miniweb_data_version", &[], |row| {
                        row.get(0)
                    })
            }
        }
    }

    /// Applies the numbered `.sql` files of `dir` (`0001_schema.sql`, ...) this database has
    /// not had yet, in order, each in its own transaction together with the new version. For
    /// each number the file for this backend (`0001_schema.postgres.sql`) wins over the plain
    /// one. A failing file is rolled back and named in the error. Returns the names applied.
    pub fn migrate(&self, dir: &Path) -> Result<Vec<String>, DbError> {
        self.apply(migrations::for_backend(
            migrations::read_dir(dir)?,
            self.backend(),
        )?)
    }

    /// As `migrate`, with the migrations given as (file name, SQL) pairs: the ones compiled
    /// into a binary.
    pub fn migrate_builtin(&self, files: &[(&str, &[u8])]) -> Result<Vec<String>, DbError> {
        self.apply(migrations::for_backend(
            migrations::builtin(files)?,
            self.backend(),
        )?)
    }

    fn apply(&self, todo: Vec<Migration>) -> Result<Vec<String>, DbError> {
        match self {
            Db::Sqlite(db) => db.apply(todo),
            #[cfg(feature = "postgres")]
            Db::Postgres(db) => db.apply(todo),
        }
    }

    /// Leaves the database tidy after the server has stopped (SQLite: the WAL checkpointed
    /// into the main file) and closes the idle connections.
    pub fn close(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(db) => db.close(),
            #[cfg(feature = "postgres")]
            Db::Postgres(db) => {
                db.close();
                Ok(())
            }
        }
    }
}

/// A pooled connection, SQLite or PostgreSQL, with the few calls handlers need. SQL is
/// written with numbered parameters, `?1`, `?2`, as SQLite spells them; on PostgreSQL they
/// become `$1`, `$2`, and each statement is prepared once per connection.
pub enum Conn<'a> {
    /// To SQLite.
    Sqlite(SqliteConn<'a>),
    /// To PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(PgConn<'a>),
}

impl Conn<'_> {
    /// Runs one statement; returns how many rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError> {
        match self {
            Conn::Sqlite(c) => c.execute(sql, params),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => c.execute(sql, params),
        }
    }

    /// Runs several statements with no parameters (a schema, a migration).
    pub fn execute_batch(&mut self, sql: &str) -> Result<(), SqlError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => c.execute_batch(sql),
        }
    }

    /// Every row of a query, each made into a `T` by `map`.
    pub fn query_map<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        map: impl FnMut(&Row<'_>) -> Result<T, SqlError>,
    ) -> Result<Vec<T>, SqlError> {
        match self {
            Conn::Sqlite(c) => c.query_map(sql, params, map),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => c.query_map(sql, params, map),
        }
    }

    /// The first row of a query, or `None`.
    pub fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        map: impl FnOnce(&Row<'_>) -> Result<T, SqlError>,
    ) -> Result<Option<T>, SqlError> {
        let (mut map, mut first) = (Some(map), None);
        self.query_map(sql, params, |row| {
            if let Some(f) = map.take() {
                first = Some(f(row)?);
            }
            Ok(())
        })?;
        Ok(first)
    }

    /// The first row of a query; [`SqlError::NoRow`] if there is none.
    pub fn query_row<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        map: impl FnOnce(&Row<'_>) -> Result<T, SqlError>,
    ) -> Result<T, SqlError> {
        self.query_opt(sql, params, map)?.ok_or(SqlError::NoRow)
    }

    /// Runs `work` in a transaction that takes the write lock up front (SQLite's `BEGIN
    /// IMMEDIATE`, so that concurrent writers queue instead of failing on a lock upgrade):
    /// committed if `work` succeeds, rolled back if it fails. A connection a panic leaves in
    /// a transaction is not given back to the pool.
    pub fn transaction<T, E: From<SqlError>>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            // IMMEDIATE takes SQLite's write lock up front.
            Conn::Sqlite(c) => c.execute_batch("BEGIN IMMEDIATE").map_err(SqlError::from)?,
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => c.begin()?,
        }
        let outcome = work(self);
        let ended = match self {
            Conn::Sqlite(c) => c
                .execute_batch(if outcome.is_ok() {
                    "COMMIT"
                } else {
                    "ROLLBACK"
                })
                .map_err(SqlError::from),
            #[cfg(feature = "postgres")]
            Conn::Postgres(c) => c.end(outcome.is_ok()),
        };
        match (outcome, ended) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(e)) => Err(e.into()),
            (Err(e), ended) => {
                if let Err(rollback) = ended {
                    log::error!("rolling back: {rollback}");
                }
                Err(e)
            }
        }
    }
}
