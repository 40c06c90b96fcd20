//! Every SQL statement of the stock site, parameterised, in one place: the SQL both SQLite
//! and PostgreSQL speak, through the framework's backend-neutral [`Conn`].

use serde::Serialize;

use crate::framework::{Conn, Error, Row, SqlError};

/// One stock as the pages show it, numbers already formatted.
#[derive(Debug, Serialize)]
pub struct Stock {
    /// Six-digit code.
    pub code: String,
    /// Short name.
    pub short: String,
    /// Change, as `10.01%` or `-3.20%`.
    pub chg: String,
    /// The change as a number, for the charts; the JSON and CSV carry `chg`.
    #[serde(skip)]
    pub change: f64,
    /// `up`, `down` or `flat`, for styling the change.
    pub trend: &'static str,
    /// Turnover rate, as `4.40%`.
    pub turnover: String,
    /// Latest price, two decimals.
    pub price: String,
    /// Previous high, two decimals.
    pub highs: String,
    /// Date of the previous high.
    pub time: String,
    /// The user's note (followed stocks only).
    pub note: String,
    /// Whether the user follows it.
    pub followed: bool,
}

const COLUMNS: &str =
    "info.code, info.short, info.chg, info.turnover, info.price, info.highs, info.time";

fn stock(row: &Row<'_>, note: String, followed: bool) -> Result<Stock, SqlError> {
    let chg: f64 = row.get(2)?;
    Ok(Stock {
        code: row.get(0)?,
        short: row.get(1)?,
        chg: two_decimals(chg, "%"),
        change: chg,
        trend: if chg > 0.0 {
            "up"
        } else if chg < 0.0 {
            "down"
        } else {
            "flat"
        },
        turnover: two_decimals(row.get(3)?, "%"),
        price: two_decimals(row.get(4)?, ""),
        highs: two_decimals(row.get(5)?, ""),
        time: row.get(6)?,
        note,
        followed,
    })
}

/// `value` with exactly two decimals, then `suffix`: `-3.2` gives `-3.20`. Rounds to whole
/// hundredths first, which is exact for the two-decimal figures the table holds, then writes the
/// digits itself into a string of the right size: this runs four times per row on the page's hot
/// path, where float formatting, and even `format!` with integers, cost more than the rest of the
/// row.
pub fn two_decimals(value: f64, suffix: &str) -> String {
    let hundredths = (value * 100.0).round() as i64;
    let abs = hundredths.unsigned_abs();
    let mut whole = [0u8; 20];
    let mut start = whole.len();
    let mut rest = abs / 100;
    loop {
        start -= 1;
        whole[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(1 + (whole.len() - start) + 3 + suffix.len());
    if hundredths < 0 {
        out.push('-');
    }
    out.extend(whole[start..].iter().map(|&d| char::from(d)));
    out.push('.');
    out.push(char::from(b'0' + (abs % 100 / 10) as u8));
    out.push(char::from(b'0' + (abs % 10) as u8));
    out.push_str(suffix);
    out
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

#[cfg(test)]
mod tests {
    use super::two_decimals;

    #[test]
    fn two_decimals_matches_float_formatting() {
        for v in [
            0.0, 16.05, 14.6, -10.0, -0.01, 0.005, 1234.5, -3.2, 10.01, 99.99, 0.5, -0.5, 100.0,
            1e9, -123456.78,
        ] {
            assert_eq!(
                two_decimals(v, ""),
                format!("{v:.2}").replace("-0.00", "0.00"),
                "{v}"
            );
        }
        assert_eq!(two_decimals(-3.2, "%"), "-3.20%");
    }
}
