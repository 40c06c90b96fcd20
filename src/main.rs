//! The stock site (选股系统): the course's application, built on miniweb like any other. Its
//! handlers are in `stocks/`, its templates, migrations and files are compiled in
//! (`builtin.rs`), and its defaults are its `config.toml`; the runner does the rest.

mod builtin;
mod stocks;

use std::process::ExitCode;

/// The stock site's settings: the shipped `config.toml`, which also documents every key.
const DEFAULTS: &str = include_str!("../config.toml");

fn main() -> ExitCode {
    site().run()
}

/// The stock site as the runner runs it.
fn site() -> miniweb::Site {
    miniweb::Site::new()
        .named("miniweb", env!("CARGO_PKG_VERSION"))
        .defaults(DEFAULTS)
        .builtin_templates(builtin::TEMPLATES)
        .builtin_migrations(builtin::MIGRATIONS)
        .builtin_static(builtin::STATIC)
}
