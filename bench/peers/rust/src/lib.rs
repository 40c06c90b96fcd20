//! What both peers share: the page, rendered every time from miniweb's queries, chart and
//! templates, exactly as miniweb renders it with its page cache off.

use miniweb::framework::{tera, Db, Location};
use miniweb::stocks::{chart, queries};
use std::path::{Path, PathBuf};

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
        let stocks = queries::all_stocks(&mut conn).map_err(|e| e.to_string())?;
        drop(conn);
        let mut context = tera::Context::new();
        context.insert("chart", &chart::distribution(&stocks));
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
        static_dir: a.get(4).map_or_else(|| project.join("static"), PathBuf::from),
        database: a[3].clone().into(),
        project,
    }
}
