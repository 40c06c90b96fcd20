//! miniweb: a minimal web server, a WSGI-like interface, a tiny framework and a stock site.
//!
//! `http` is the interface; `server` serves it; `framework` implements it; `stocks` is the
//! application built on the framework; `config` reads `config.toml`; `builtin` holds the
//! site's files compiled in.

#![warn(missing_docs)]

pub mod builtin;
pub mod config;
pub mod encoding;
pub mod framework;
pub mod http;
pub mod server;
pub mod stocks;

// `#[route]` expands to paths under `::miniweb`, which must resolve inside this crate too.
extern crate self as miniweb;
