//! The vocabulary both backends share: where the database is, the errors, parameters, rows
//! and columns, and the one difference in how SQL is spelled (`?1` against `$1`).

use std::fmt;
use std::path::{Path, PathBuf};

#[cfg(feature = "postgres")]
use ::postgres::error::SqlState;

/// Where the database is: a SQLite file, or a PostgreSQL server's URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file, created if missing.
    Sqlite(PathBuf),
    /// `postgres://user:password@host:port/dbname`.
    Postgres(String),
}

impl Location {
    /// `postgres://` or `postgresql://` is a server; anything else is a file (relative paths
    /// joined to `base`).
    pub fn parse(value: &str, base: &Path) -> Location {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Location::Postgres(value.to_string())
        } else {
            Location::Sqlite(base.join(value))
        }
    }
}

/// The file, or the URL with its password hidden: what logs and errors may show.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// `postgres://user:secret@host/db` as `postgres://user:***@host/db`.
pub(super) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// A database that cannot be opened or migrated; the message names the file, server or
/// migration at fault.
#[derive(Debug)]
pub struct DbError(pub String);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

/// A failed statement or a connection that could not be had.
#[derive(Debug)]
pub enum SqlError {
    /// From SQLite.
    Sqlite(rusqlite::Error),
    /// From PostgreSQL (or the connection to it).
    #[cfg(feature = "postgres")]
    Postgres(::postgres::Error),
    /// No connection could be had: every pooled one stayed busy for the whole wait, or the
    /// server did not answer a new one.
    Unavailable(String),
    /// A query that must return a row returned none.
    NoRow,
}

impl SqlError {
    /// Whether the database was busy rather than wrong: worth a 503 and a retry, not a 500.
    pub fn is_busy(&self) -> bool {
        match self {
            SqlError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            #[cfg(feature = "postgres")]
            SqlError::Postgres(e) => postgres_is_busy(e),
            SqlError::Unavailable(_) => true,
            SqlError::NoRow => false,
        }
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlError::Sqlite(e) => write!(f, "{e}"),
            #[cfg(feature = "postgres")]
            SqlError::Postgres(e) => match e.as_db_error() {
                Some(db) => write!(f, "{}: {}", db.code().code(), db.message()),
                None => write!(f, "{e}"),
            },
            SqlError::Unavailable(why) => f.write_str(why),
            SqlError::NoRow => f.write_str("the query returned no row"),
        }
    }
}

impl std::error::Error for SqlError {}

impl From<rusqlite::Error> for SqlError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => SqlError::NoRow,
            e => SqlError::Sqlite(e),
        }
    }
}

#[cfg(feature = "postgres")]
impl From<::postgres::Error> for SqlError {
    fn from(e: ::postgres::Error) -> Self {
        SqlError::Postgres(e)
    }
}

/// A statement parameter: the two kinds the site's queries bind.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    /// Text (`TEXT`).
    Text(&'a str),
    /// An integer (SQLite `INTEGER`, PostgreSQL `bigint`).
    Int(i64),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(s: &'a str) -> Self {
        Param::Text(s)
    }
}

impl From<i64> for Param<'_> {
    fn from(n: i64) -> Self {
        Param::Int(n)
    }
}

/// One result row.
pub enum Row<'r> {
    /// A SQLite row.
    Sqlite(&'r rusqlite::Row<'r>),
    /// A PostgreSQL row.
    #[cfg(feature = "postgres")]
    Postgres(&'r ::postgres::Row),
}

impl Row<'_> {
    /// Column `i` (from 0) as a `T`.
    pub fn get<T: Column>(&self, i: usize) -> Result<T, SqlError> {
        match self {
            Row::Sqlite(row) => Ok(row.get(i)?),
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => Ok(row.try_get(i)?),
        }
    }
}

/// A Rust type both backends convert a column into: `String`, `i64`, `f64`, `bool`.
#[cfg(feature = "postgres")]
pub trait Column: rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a> {}
#[cfg(feature = "postgres")]
impl<T: rusqlite::types::FromSql + for<'a> ::postgres::types::FromSql<'a>> Column for T {}
/// A Rust type SQLite converts a column into: `String`, `i64`, `f64`, `bool`.
#[cfg(not(feature = "postgres"))]
pub trait Column: rusqlite::types::FromSql {}
#[cfg(not(feature = "postgres"))]
impl<T: rusqlite::types::FromSql> Column for T {}

/// Which kind of database, as migration file names say it (`.sqlite.sql`, `.postgres.sql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Whether a PostgreSQL error means "busy or away, try again" rather than a wrong statement.
#[cfg(feature = "postgres")]
fn postgres_is_busy(e: &::postgres::Error) -> bool {
    e.is_closed()
        || e.code().is_some_and(|code| {
            [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::LOCK_NOT_AVAILABLE,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::ADMIN_SHUTDOWN,
            ]
            .contains(code)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_keeps_its_password_out_of_the_logs() {
        let base = Path::new("/srv");
        let url = Location::parse("postgres://web:s3cret@db.example:5432/stocks", base);
        assert_eq!(url.to_string(), "postgres://web:***@db.example:5432/stocks");
        assert!(!format!("{url:?}").contains("s3cret"));
        let plain = Location::parse("postgresql://web@db/stocks", base);
        assert_eq!(plain.to_string(), "postgresql://web@db/stocks");
        assert_eq!(
            Location::parse("stock.db", base),
            Location::Sqlite(PathBuf::from("/srv/stock.db"))
        );
    }
}
