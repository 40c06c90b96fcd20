//! miniweb: a minimal web server, a WSGI-like interface, a tiny framework on it, and one call
//! that runs an app.
//!
//! `http` is the interface (miniweb's WSGI); `server` serves it, files first; `framework`
//! implements it with `#[route]` handlers, Tera templates and a database; [`run`] (the
//! runner) gives an app the command line, `config.toml`, logging and signals. A site is a
//! crate of its own that depends on miniweb: its routes are all it gets.
//!
//! # Quick start
//!
//! `cargo new mysite && cd mysite && cargo add miniweb`, then `src/main.rs`:
//!
//! ```no_run
//! use miniweb::prelude::*;
//!
//! #[route("/")]
//! fn home(_cx: &Ctx) -> Result<Response, Error> {
//!     let form = r#"<form method="post" action="/echo"><input name="text"></form>"#;
//!     Ok(Response::html(200, form))
//! }
//!
//! #[route("/hello/{name}")]
//! fn hello(cx: &Ctx) -> Result<Response, Error> {
//!     let mut page = tera::Context::new();
//!     page.insert("name", cx.param("name")?);
//!     cx.render("hello.html", &page) // templates/hello.html: <p>Hello, {{ name }}!</p>
//! }
//!
//! #[route("/echo", method = "POST")]
//! fn echo(cx: &Ctx) -> Result<Response, Error> {
//!     let form = cx.form()?;
//!     let text = form.field("text")?; // no `text` field: a 400 that says so
//!     Ok(Response::text(200, format!("you said: {text}\n")))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     miniweb::run() // `cargo run -- 8080`; `--help` says the rest
//! }
//! ```

#![warn(missing_docs)]

pub mod encoding;
pub mod framework;
pub mod http;
pub mod multipart;
pub mod runner;
pub mod server;
mod sync;
pub mod test_client;

pub use runner::{run, Site};

/// What a handler's file needs: `use miniweb::prelude::*;`.
pub mod prelude {
    pub use crate::framework::{route, tera, Ctx, Error};
    pub use crate::http::{Request, Response};
}

// `#[route]` expands to paths under `::miniweb`, which must resolve inside this crate too.
extern crate self as miniweb;
