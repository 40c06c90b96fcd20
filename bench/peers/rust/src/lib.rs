//! What both peers share: the page, rendered every time from miniweb's SQL, chart and
//! templates, the way a user of axum or actix-web with Tera writes it: rows read into a struct
//! of `String`s (numbers formatted with `format!`), handed to Tera through serde.
//!
//! The rows are the peers' own on purpose. miniweb's stock app keeps its figures as numbers and
//! writes them out only into the page (`miniweb::stocks::figure`); that is part of what is
//! measured against them, not something for them to borrow.

use miniweb::framework::{tera, Conn, Db, Error, Location, Row, SqlError};
use miniweb::stocks::chart;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One row of the stock table, as the page shows it.
#[derive(Serialize)]
pub struct Stock {
    pub code: String,
    pub short: String,
    pub chg: String,
    #[serde(skip)]
    pub change: f64,
    pub trend: &'static str,
    pub turnover: String,
    pub price: String,
    pub highs: String,
    pub time: String,
    pub note: String,
    pub followed: bool,
}

fn stock(row: &Row<'_>) -> Result<Stock, SqlError> {
    let change: f64 = row.get(2)?;
    Ok(Stock {
        code: row.get(0)?,
        short: row.get(1)?,
        chg: format!("{change:.2}%"),
        change,
        trend: if change > 0.0 {
            "up"
        } else if change < 0.0 {
            "down"
        } else {
            "flat"
        },
        turnover: format!("{:.2}%", row.get::<f64>(3)?),
        price: format!("{:.2}", row.get::<f64>(4)?),
        highs: format!("{:.2}", row.get::<f64>(5)?),
        time: row.get(6)?,
        note: String::new(),
        followed: row.get(7)?,
    })
}

/// Every stock in list order, each saying whether it is followed: miniweb's query.
fn all_stocks(conn: &mut Conn<'_>) -> Result<Vec<Stock>, Error> {
    Ok(conn.query_map(
        "SELECT info.code, info.short, info.chg, info.turnover, info.price, info.highs, \
         info.time, focus.id IS NOT NULL FROM info \
         LEFT JOIN focus ON focus.info_id = info.id ORDER BY info.id",
        &[],
        stock,
    )?)
}

/// The site's templates and database, opened from the project folder.
pub struct Site {
    pub templates: tera::Tera,
    pub db: Db,
}

impl Site {
    /// `project`'s templates and migrations, and the SQLite file `database`.
    pub fn open(project: &Path, database: &Path) -> Site {
        let templates =
            miniweb::framework::load_templates(&project.join("templates")).expect("templates");
        let db = Db::open(&Location::Sqlite(database.to_path_buf())).expect("database");
        db.migrate(&project.join("migrations")).expect("migrations");
        Site { templates, db }
    }

    /// `/index.html`: every stock and the day's distribution, rendered now.
    pub fn index(&self) -> Result<Vec<u8>, String> {
        let mut conn = self.db.get().map_err(|e| e.to_string())?;
        let stocks = all_stocks(&mut conn).map_err(|e| e.to_string())?;
        drop(conn);
        let mut context = tera::Context::new();
        context.insert(
            "chart",
            &chart::distribution(stocks.iter().map(|s| s.change)),
        );
        context.insert("stocks", &stocks);
        let mut body = Vec::with_capacity(32 * 1024);
        self.templates
            .render_to("index.html", &context, &mut body)
            .map_err(|e| e.to_string())?;
        Ok(body)
    }
}

/// The command line: `PORT PROJECT_DIR DATABASE [STATIC_DIR]`.
pub struct Args {
    pub port: u16,
    pub project: PathBuf,
    pub database: PathBuf,
    /// The files served beside the page: STATIC_DIR, or the project's `static/`.
    pub static_dir: PathBuf,
}

/// Reads [`Args`] from the command line.
pub fn args() -> Args {
    let a: Vec<String> = std::env::args().collect();
    assert!(
        a.len() == 4 || a.len() == 5,
        "usage: {} PORT PROJECT_DIR DATABASE [STATIC_DIR]",
        a[0]
    );
    let project = PathBuf::from(&a[2]);
    Args {
        port: a[1].parse().expect("port"),
        static_dir: a
            .get(4)
            .map_or_else(|| project.join("static"), PathBuf::from),
        database: a[3].clone().into(),
        project,
    }
}
