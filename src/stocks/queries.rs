//! Every SQL statement of the stock site, parameterised, in one place: the SQL both SQLite
//! and PostgreSQL speak, through the framework's backend-neutral [`Conn`].

use serde::Serialize;

use super::figure::Figure;
use miniweb::framework::{Conn, Error, Row, SqlError, Text};

/// One stock as the pages show it.
#[derive(Debug, Serialize)]
pub struct Stock {
    /// Six-digit code.
    pub code: Text,
    /// Short name.
    pub short: Text,
    /// Change, shown as `10.01%` or `-3.20%`.
    pub chg: Figure,
    /// `up`, `down` or `flat`, for styling the change.
    pub trend: &'static str,
    /// Turnover rate, shown as `4.40%`.
    pub turnover: Figure,
    /// Latest price, two decimals.
    pub price: Figure,
    /// Previous high, two decimals.
    pub highs: Figure,
    /// Date of the previous high.
    pub time: Text,
    /// The user's note (followed stocks only).
    pub note: String,
    /// Whether the user follows it.
    pub followed: bool,
}

const COLUMNS: &str =
    "info.code, info.short, info.chg, info.turnover, info.price, info.highs, info.time";

fn stock(row: &Row<'_>, note: String, followed: bool) -> Result<Stock, SqlError> {
    let chg = Figure::percent(row.get(2)?);
    Ok(Stock {
        code: row.get(0)?,
        short: row.get(1)?,
        chg,
        trend: chg.trend(),
        turnover: Figure::percent(row.get(3)?),
        price: Figure::new(row.get(4)?),
        highs: Figure::new(row.get(5)?),
        time: row.get(6)?,
        note,
        followed,
    })
}

/// How many stocks there are: the health check's query.
pub fn stock_count(conn: &mut Conn<'_>) -> Result<i64, Error> {
    Ok(conn.query_row("SELECT count(*) FROM info", &[], |row| row.get(0))?)
}

/// Every stock, in list order, each saying whether it is followed.
pub fn all_stocks(conn: &mut Conn<'_>) -> Result<Vec<Stock>, Error> {
    let sql = format!(
        "SELECT {COLUMNS}, focus.id IS NOT NULL FROM info \
         LEFT JOIN focus ON focus.info_id = info.id ORDER BY info.id"
    );
    Ok(conn.query_map(&sql, &[], |r| stock(r, String::new(), r.get(7)?))?)
}

/// The followed stocks with their notes, in the order they were followed.
pub fn followed(conn: &mut Conn<'_>) -> Result<Vec<Stock>, Error> {
    let sql = format!(
        "SELECT {COLUMNS}, focus.note_info FROM focus JOIN info ON info.id = focus.info_id \
         ORDER BY focus.id"
    );
    Ok(conn.query_map(&sql, &[], |r| stock(r, r.get(7)?, true))?)
}

/// One followed stock with its note; 404 if the code is unknown or not followed.
pub fn followed_one(conn: &mut Conn<'_>, code: &str) -> Result<Stock, Error> {
    let sql = format!(
        "SELECT {COLUMNS}, focus.note_info FROM focus JOIN info ON info.id = focus.info_id \
         WHERE info.code = ?1"
    );
    conn.query_opt(&sql, &[code.into()], |r| stock(r, r.get(7)?, true))?
        .ok_or_else(|| not_followed(code))
}

/// Follows `code`: 404 if unknown, 409 if already followed.
pub fn follow(conn: &mut Conn<'_>, code: &str) -> Result<(), Error> {
    change_focus(
        conn,
        code,
        "INSERT INTO focus (info_id) VALUES (?1) ON CONFLICT (info_id) DO NOTHING",
        || Error::Conflict(format!("股票 {code} 已经关注过了。")),
    )
}

/// Unfollows `code`: 404 if unknown, 409 if not followed.
pub fn unfollow(conn: &mut Conn<'_>, code: &str) -> Result<(), Error> {
    change_focus(conn, code, "DELETE FROM focus WHERE info_id = ?1", || {
        Error::Conflict(format!("股票 {code} 还没有关注。"))
    })
}

/// Runs `sql` with the id of stock `code` as `?1` in a write transaction: 404 if the code is
/// unknown, `unchanged()` if the statement changed no row.
fn change_focus(
    conn: &mut Conn<'_>,
    code: &str,
    sql: &str,
    unchanged: impl FnOnce() -> Error,
) -> Result<(), Error> {
    conn.transaction(|tx| {
        let id = stock_id(tx, code)?;
        if tx.execute(sql, &[id.into()])? == 0 {
            return Err(unchanged());
        }
        Ok(())
    })
}

/// Saves the note of a followed stock: 404 if unknown or not followed.
pub fn set_note(conn: &mut Conn<'_>, code: &str, note: &str) -> Result<(), Error> {
    let updated = conn.execute(
        "UPDATE focus SET note_info = ?2 WHERE info_id = (SELECT id FROM info WHERE code = ?1)",
        &[code.into(), note.into()],
    )?;
    if updated == 0 {
        return Err(not_followed(code));
    }
    Ok(())
}

fn stock_id(conn: &mut Conn<'_>, code: &str) -> Result<i64, Error> {
    conn.query_opt("SELECT id FROM info WHERE code = ?1", &[code.into()], |r| {
        r.get(0)
    })?
    .ok_or_else(|| Error::NotFound(format!("没有代码为 {code} 的股票。")))
}

fn not_followed(code: &str) -> Error {
    Error::NotFound(format!("股票 {code} 还没有关注。"))
}
