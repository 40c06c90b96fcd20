//! PostgreSQL, for a site served by several machines: a bounded pool of connections (the
//! `postgres` crate, synchronous, which suits one thread per connection), statements prepared
//! once per connection, migrations under an advisory lock (two processes starting at once
//! apply each file once), and a version row that a trigger on every table bumps on every
//! write, which the page cache reads as SQLite's `data_version`: never a stale page, whichever
//! process or machine wrote.

use std::collections::HashMap;
use std::time::Duration;

use ::postgres::types::ToSql;
use ::postgres::{Client, Config, NoTls, Statement};

use super::migrations::Migration;
use super::pool::{Pool, PoolError, POOL_WAIT};
use super::sql::{redacted, DbError, Param, Row, SqlError};

/// Connecting gives up after this long (unless the URL says `connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The advisory lock migrations take: any number, the same in every process.
const MIGRATION_LOCK: i64 = 0x006d_696e_6977_6562; // "miniweb" in ASCII

/// The framework's own tables: the migration version, and the data version.
const SETUP: &str = "\
CREATE TABLE IF NOT EXISTS miniweb_schema_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version  bigint  NOT NULL
);
INSERT INTO miniweb_schema_version (version) VALUES (0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS miniweb_data_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version  bigint  NOT NULL
);
INSERT INTO miniweb_data_version (version) VALUES (0) ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION miniweb_bump_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE miniweb_data_version SET version = version + 1;
    RETURN NULL;
END
$$;";

/// One connection and the statements prepared on it.
struct Session {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Session {
    /// The statement for `sql` (`?1` parameters), prepared the first time.
    fn statement(&mut self, sql: &str) -> Result<Statement, ::postgres::Error> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(&dollar_params(sql))?;
        self.statements.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

/// A pool of connections to one PostgreSQL database.
pub struct PgDb {
    config: Config,
    /// The URL without its password, for messages.
    shown: String,
    /// Sessions in a box: a client with its statements is a few hundred bytes.
    pool: Pool<Box<Session>>,
}

impl PgDb {
    /// Parses `url` and connects once, so that a wrong URL or a server that is down stops
    /// start-up with the reason. At most `max_open` connections (PostgreSQL allows 100 by
    /// default, shared by every process).
    pub fn open(url: &str, max_open: usize) -> Result<PgDb, DbError> {
        let shown = redacted(url);
        let mut config: Config = url
            .parse()
            .map_err(|e| DbError(format!("database {shown}: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("miniweb");
        }
        // Notices ("relation already exists, skipping") are the server thinking aloud.
        config.notice_callback(|notice| log::debug!("PostgreSQL: {}", notice.message()));
        let first = connect(&config)
            .map_err(|e| DbError(format!("database {shown}: {}", SqlError::from(e))))?;
        Ok(PgDb {
            config,
            shown,
            pool: Pool::new(max_open, POOL_WAIT, first),
        })
    }

    /// An idle connection the server has not closed, or a new one while fewer than the
    /// bound are open, or the first one given back within `POOL_WAIT`, first come first
    /// served.
    pub fn get(&self) -> Result<PgConn<'_>, SqlError> {
        match self
            .pool
            .get(|| connect(&self.config), |s| !s.client.is_closed())
        {
            Ok(session) => Ok(PgConn::new(self, session)),
            Err(PoolError::Connect(e)) => Err(SqlError::Unavailable(format!(
                "cannot connect to {}: {}",
                self.shown,
                SqlError::from(e)
            ))),
            Err(PoolError::Busy { max_open, waited }) => Err(SqlError::Unavailable(format!(
                "all {max_open} connections to {} busy for {waited:.1?}",
                self.shown
            ))),
        }
    }

    /// Applies the migrations newer than `miniweb_schema_version`, each in a transaction that
    /// holds the migration lock and sets the new version, then puts the data-version trigger
    /// on every table (those the migrations just made included).
    pub(super) fn apply(&self, migrations: Vec<Migration>) -> Result<Vec<String>, DbError> {
        let fail = |e: SqlError| DbError(format!("database {}: {e}", self.shown));
        let mut conn = self.get().map_err(fail)?;
        let session = conn.session();
        let mut applied = Vec::new();
        for m in migrations {
            let name = m.name;
            let failed = |e: ::postgres::Error| {
                DbError(format!("migration {name} failed: {}", SqlError::from(e)))
            };
            let mut tx = session.client.transaction().map_err(failed)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .map_err(failed)?;
            tx.batch_execute(SETUP).map_err(failed)?;
            let current: i64 = tx
                .query_one("SELECT version FROM miniweb_schema_version", &[])
                .and_then(|row| row.try_get(0))
                .map_err(failed)?;
            if m.number <= current {
                continue;
            }
            tx.batch_execute(&m.sql).map_err(failed)?;
            tx.execute(
                "UPDATE miniweb_schema_version SET version = $1",
                &[&m.number],
            )
            .map_err(failed)?;
            tx.commit().map_err(failed)?;
            log::info!("applied migration {name}");
            applied.push(name);
        }
        watch_every_table(&mut session.client).map_err(|e| {
            DbError(format!(
                "database {}: data version triggers: {}",
                self.shown,
                SqlError::from(e)
            ))
        })?;
        // Prepared statements may name tables the migrations replaced.
        session.statements.clear();
        Ok(applied)
    }

    /// Closes the idle connections.
    pub fn close(&self) {
        self.pool.close_idle();
        log::info!("database {}: connections closed", self.shown);
    }
}

/// A new session with `config`.
fn connect(config: &Config) -> Result<Box<Session>, ::postgres::Error> {
    Ok(Box::new(Session {
        client: config.connect(NoTls)?,
        statements: HashMap::new(),
    }))
}

/// Puts the trigger that bumps the data version on every table of the schema but the
/// framework's own, replacing any older one.
fn watch_every_table(client: &mut Client) -> Result<(), ::postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(SETUP)?;
    let tables = tx.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() \
         AND tablename NOT LIKE 'miniweb\\_%'",
        &[],
    )?;
    for row in tables {
        let table: String = row.try_get(0)?;
        // An identifier, quoted: the name comes from the catalogue, not from a client.
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        tx.batch_execute(&format!(
            "DROP TRIGGER IF EXISTS miniweb_data_version ON {quoted};
             CREATE TRIGGER miniweb_data_version
                 AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {quoted}
                 FOR EACH STATEMENT EXECUTE FUNCTION miniweb_bump_data_version();"
        ))?;
    }
    tx.commit()
}

/// A pooled PostgreSQL connection.
pub struct PgConn<'a> {
    db: &'a PgDb,
    session: Option<Box<Session>>,
    /// Inside a transaction: if dropped so (a panic), the connection is closed, not reused.
    in_transaction: bool,
}

impl<'a> PgConn<'a> {
    fn new(db: &'a PgDb, session: Box<Session>) -> PgConn<'a> {
        PgConn {
            db,
            session: Some(session),
            in_transaction: false,
        }
    }

    fn session(&mut self) -> &mut Session {
        self.session
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }

    /// The `postgres` client itself.
    pub fn client(&mut self) -> &mut Client {
        &mut self.session().client
    }

    pub(super) fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError> {
        let session = self.session();
        let stmt = session.statement(sql)?;
        Ok(session.client.execute(&stmt, &bind(params))?)
    }

    pub(super) fn execute_batch(&mut self, sql: &str) -> Result<(), SqlError> {
        Ok(self.session().client.batch_execute(sql)?)
    }

    /// `BEGIN`; until [`PgConn::end`], a drop (a panic) closes the connection instead of
    /// pooling it.
    pub(super) fn begin(&mut self) -> Result<(), SqlError> {
        self.execute_batch("BEGIN")?;
        self.in_transaction = true;
        Ok(())
    }

    /// `COMMIT` or `ROLLBACK`.
    pub(super) fn end(&mut self, commit: bool) -> Result<(), SqlError> {
        self.execute_batch(if commit { "COMMIT" } else { "ROLLBACK" })?;
        self.in_transaction = false;
        Ok(())
    }

    pub(super) fn query_map<T>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut map: impl FnMut(&Row<'_>) -> Result<T, SqlError>,
    ) -> Result<Vec<T>, SqlError> {
        let session = self.session();
        let stmt = session.statement(sql)?;
        let rows = session.client.query(&stmt, &bind(params))?;
        rows.iter().map(|row| map(&Row::Postgres(row))).collect()
    }
}

/// The parameters as the `postgres` crate takes them: text as `TEXT`, integers as `bigint`.
fn bind<'p>(params: &'p [Param<'_>]) -> Vec<&'p (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(s) => s as &(dyn ToSql + Sync),
            Param::Int(n) => n as &(dyn ToSql + Sync),
        })
        .collect()
}

impl Drop for PgConn<'_> {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        if self.in_transaction || session.client.is_closed() {
            self.db.pool.closed();
        } else {
            self.db.pool.put(session);
        }
    }
}

/// `?1`-style parameters as PostgreSQL's `$1`, leaving quoted text and identifiers alone.
fn dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_params("UPDATE t SET a = ?2 WHERE b = ?1 AND c = '?1' AND \"?3\" = 1"),
            "UPDATE t SET a = $2 WHERE b = $1 AND c = '?1' AND \"?3\" = 1"
        );
        assert_eq!(dollar_params("SELECT '?' || ?10"), "SELECT '?' || $10");
    }
}
