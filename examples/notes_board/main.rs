//! A notes board, the framework's second application (after the stock site), written as a
//! Flask user would write one and using only miniweb's public API: log in (a signed
//! session), post a note with an image (a multipart upload), a JSON API for the notes (JSON
//! in and out), a page of its own for 404, an admin area mounted under `/admin` behind a
//! before-hook, an after-hook, and `url_for` in every template.
//!
//!     MINIWEB_SECRET_KEY=$(head -c 32 /dev/urandom | base64) NOTES_ADMIN_PASSWORD=pw \
//!         cargo run --example notes_board -- 8095
//!
//! Run it from the folder its data should live in: `notes.db`, and `notes-files/img/` for
//! the images, which the server serves itself as files (ranges, ETags, 304s). Anyone may sign
//! in with a name; the name `admin` with `NOTES_ADMIN_PASSWORD` may also delete notes. A real
//! site keeps users with password hashes (argon2), not one password in the environment.
//! `tests/examples.rs` drives all of it over loopback, with curl.

use std::io::Read;
use std::path::{Path, PathBuf};

use miniweb::framework::{Conn, Error, Row, SqlError};
use miniweb::multipart::Upload;
use miniweb::prelude::*;
use serde::{Deserialize, Serialize};

/// The folder served as files: the images live in its `img/`.
const FILES: &str = "notes-files";

/// The app's defaults, under the config file and `MINIWEB_*`: folders of its own, so that
/// running it from any folder (this project's root included) picks up nothing else.
const DEFAULTS: &str = r#"
database = "notes.db"
document_root = "notes-files"
static_dir = ""
templates_dir = "notes-templates"
migrations_dir = "notes-migrations"
max_body_bytes = 4194304
max_upload_file_bytes = 2097152
"#;

const TEMPLATES: &[(&str, &[u8])] = &[
    ("base.html", include_bytes!("templates/base.html")),
    ("index.html", include_bytes!("templates/index.html")),
    ("admin.html", include_bytes!("templates/admin.html")),
    ("404.html", include_bytes!("templates/404.html")),
];

const MIGRATIONS: &[(&str, &[u8])] = &[(
    "0001_notes.sql",
    include_bytes!("migrations/0001_notes.sql"),
)];

fn main() -> std::process::ExitCode {
    // The served folder must exist before the server opens it.
    if let Err(e) = std::fs::create_dir_all(Path::new(FILES).join("img")) {
        eprintln!("notes_board: cannot create {FILES}/img: {e}");
        return std::process::ExitCode::from(1);
    }
    site().run()
}

fn site() -> miniweb::Site {
    miniweb::Site::new()
        .named("notes_board", env!("CARGO_PKG_VERSION"))
        .defaults(DEFAULTS)
        .builtin_templates(TEMPLATES)
        .builtin_migrations(MIGRATIONS)
        .mount("/admin", concat!(module_path!(), "::admin"))
        .before("/admin", require_admin)
        .after(security_headers)
        .on_error(404, not_found)
}

// --- the board ------------------------------------------------------------------------------

/// One note, as the pages and the API show it.
#[derive(Debug, Serialize)]
struct Note {
    id: i64,
    author: String,
    text: String,
    /// The image's path, if the note has one.
    image: Option<String>,
}

fn note(row: &Row<'_>) -> Result<Note, SqlError> {
    let image: Option<String> = row.get(3)?;
    Ok(Note {
        id: row.get(0)?,
        author: row.get(1)?,
        text: row.get(2)?,
        image: image.map(|name| format!("/img/{name}")),
    })
}

fn all_notes(conn: &mut Conn<'_>) -> Result<Vec<Note>, Error> {
    let sql = "SELECT id, author, text, image FROM notes ORDER BY id DESC";
    Ok(conn.query_map(sql, &[], note)?)
}

/// The page's context: who is signed in, and whether as the admin.
fn page(cx: &Ctx) -> Result<tera::Context, Error> {
    let session = cx.session()?;
    let mut page = tera::Context::new();
    page.insert("user", &session.get::<String>("user"));
    page.insert("admin", &session.get::<bool>("admin").unwrap_or(false));
    Ok(page)
}

/// `template` with every note, newest first.
fn notes_page(cx: &Ctx, template: &str) -> Result<Response, Error> {
    let mut page = page(cx)?;
    page.insert("notes", &all_notes(&mut *cx.db()?)?);
    cx.render(template, &page)
}

#[route("/")]
fn board(cx: &Ctx) -> Result<Response, Error> {
    notes_page(cx, "index.html")
}

#[route("/login", method = "POST")]
fn login(cx: &Ctx) -> Result<Response, Error> {
    let form = cx.form()?;
    let name = form.field("name")?.trim().to_string();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(Error::BadRequest("A name is 1 to 40 characters.".into()));
    }
    let password = form.get("password").unwrap_or_default();
    let admin = name == "admin";
    if admin && !is_admin_password(password) {
        return Err(Error::Forbidden("That is not the admin password.".into()));
    }
    let mut session = cx.session()?;
    session.insert("user", &name)?;
    session.insert("admin", admin)?;
    Ok(Response::redirect(303, &cx.url_for("board", &[])?))
}

#[route("/logout", method = "POST")]
fn logout(cx: &Ctx) -> Result<Response, Error> {
    cx.session()?.clear();
    Ok(Response::redirect(303, &cx.url_for("board", &[])?))
}

/// Posts a note from the board's form, with its image if one was chosen.
#[route("/notes", method = "POST")]
fn post_note(cx: &Ctx) -> Result<Response, Error> {
    let author = signed_in(cx)?;
    let form = cx.multipart()?;
    let text = form
        .field("text")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::BadRequest("A note needs some text.".into()))?;
    // A form with no file chosen still sends the part, empty.
    let image = form.file("image").filter(|f| f.size() > 0);
    add_note(cx, &author, text, image)?;
    Ok(Response::redirect(303, &cx.url_for("board", &[])?))
}

/// Stores a note, and its image as `img/ID.EXT` under the served folder: written beside its
/// place and renamed once whole, so that the server never serves half an image.
fn add_note(cx: &Ctx, author: &str, text: &str, image: Option<&Upload>) -> Result<Note, Error> {
    let kind = match image {
        Some(upload) => Some(image_kind(upload)?),
        None => None,
    };
    let mut conn = cx.db()?;
    conn.transaction(|conn| {
        let id: i64 = conn.query_row(
            "INSERT INTO notes (author, text) VALUES (?1, ?2) RETURNING id",
            &[author.into(), text.into()],
            |row| row.get(0),
        )?;
        let mut name = None;
        if let (Some(upload), Some(ext)) = (image, kind) {
            let file = format!("{id}.{ext}");
            upload.save_as(&images().join(&file))?;
            conn.execute(
                "UPDATE notes SET image = ?1 WHERE id = ?2",
                &[file.as_str().into(), id.into()],
            )?;
            name = Some(format!("/img/{file}"));
        }
        Ok(Note {
            id,
            author: author.to_string(),
            text: text.to_string(),
            image: name,
        })
    })
}

/// The image's type from its first bytes, whatever the client claimed: PNG, JPEG, GIF or
/// WebP, anything else refused (the server would serve it from this site otherwise).
fn image_kind(upload: &Upload) -> Result<&'static str, Error> {
    let mut head = Vec::with_capacity(12);
    Read::take(upload.reader()?, 12).read_to_end(&mut head)?;
    match head.as_slice() {
        [0x89, b'P', b'N', b'G', ..] => Ok("png"),
        [0xFF, 0xD8, 0xFF, ..] => Ok("jpg"),
        [b'G', b'I', b'F', b'8', ..] => Ok("gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P'] => Ok("webp"),
        _ => Err(Error::UnsupportedMediaType(format!(
            "{} is not a PNG, JPEG, GIF or WebP image.",
            upload.file_name()
        ))),
    }
}

fn images() -> PathBuf {
    Path::new(FILES).join("img")
}

/// Who is signed in; `Forbidden` for nobody.
fn signed_in(cx: &Ctx) -> Result<String, Error> {
    cx.session()?
        .get::<String>("user")
        .ok_or_else(|| Error::Forbidden("Sign in first.".into()))
}

// --- the JSON API ---------------------------------------------------------------------------

#[route("/api/notes")]
fn api_notes(cx: &Ctx) -> Result<Response, Error> {
    let notes = all_notes(&mut *cx.db()?)?;
    Ok(Response::json(200, &serde_json::json!({ "notes": notes })))
}

#[derive(Deserialize)]
struct NewNote {
    text: String,
}

#[route("/api/notes", method = "POST")]
fn api_post_note(cx: &Ctx) -> Result<Response, Error> {
    let Some(author) = cx.session()?.get::<String>("user") else {
        return Ok(Response::json(
            401,
            &serde_json::json!({ "error": "sign in first" }),
        ));
    };
    let new: NewNote = cx.json()?;
    if new.text.trim().is_empty() {
        return Ok(Response::json(
            400,
            &serde_json::json!({ "error": "text is empty" }),
        ));
    }
    let note = add_note(cx, &author, new.text.trim(), None)?;
    Ok(Response::json(201, &note))
}

// --- the admin area, under /admin -----------------------------------------------------------

mod admin {
    use super::*;

    #[route("/")]
    fn dashboard(cx: &Ctx) -> Result<Response, Error> {
        notes_page(cx, "admin.html")
    }

    #[route("/notes/{id}/delete", method = "POST")]
    fn delete(cx: &Ctx) -> Result<Response, Error> {
        let id: i64 = cx
            .param("id")?
            .parse()
            .map_err(|_| Error::NotFound("No such note.".into()))?;
        let mut conn = cx.db()?;
        let image: Option<Option<String>> = conn.query_opt(
            "SELECT image FROM notes WHERE id = ?1",
            &[id.into()],
            |row| row.get(0),
        )?;
        let Some(image) = image else {
            return Err(Error::NotFound("No such note.".into()));
        };
        conn.execute("DELETE FROM notes WHERE id = ?1", &[id.into()])?;
        if let Some(file) = image {
            let _ = std::fs::remove_file(images().join(file));
        }
        Ok(Response::redirect(303, &cx.url_for("dashboard", &[])?))
    }
}

// --- hooks ----------------------------------------------------------------------------------

/// The admin area is the admin's: anyone else is sent to the board.
fn require_admin(cx: &Ctx) -> Result<Option<Response>, Error> {
    if cx.session()?.get::<bool>("admin") == Some(true) {
        return Ok(None);
    }
    Ok(Some(Response::redirect(303, &cx.url_for("board", &[])?)))
}

/// Every page: no sniffing a type from the bytes, no framing by other sites.
fn security_headers(_: &Ctx, resp: Response) -> Response {
    resp.with_header("X-Content-Type-Options", "nosniff")
        .with_header("X-Frame-Options", "DENY")
}

/// The board's own 404 page.
fn not_found(cx: &Ctx, _: &Error) -> Result<Response, Error> {
    let mut page = page(cx)?;
    page.insert("path", &cx.req.path);
    cx.render("404.html", &page)
}

/// Whether `given` is `NOTES_ADMIN_PASSWORD`, compared in constant time; never without one.
fn is_admin_password(given: &str) -> bool {
    let Ok(expected) = std::env::var("NOTES_ADMIN_PASSWORD") else {
        return false;
    };
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    // Every byte is looked at whatever the first difference: the time says nothing of it.
    let differ = a.len() ^ b.len()
        | a.iter()
            .zip(b)
            .fold(0, |acc, (x, y)| acc | usize::from(x ^ y));
    !expected.is_empty() && differ == 0
}
