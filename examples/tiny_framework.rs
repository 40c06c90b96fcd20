//! Course step 11, mini web框架: a second framework in about fifty lines, on the same server.
//!
//!     cargo run --example tiny_framework -- 9005
//!     curl http://127.0.0.1:9005/index.html
//!
//! The course's framework fills a dict with a `route` decorator,
//! `@route("/index.html") def index(): ...`, and its `application` looks the path up in it.
//! Here `routes()` fills a `HashMap` the same way, and `TinyFramework` is an `App`, so
//! miniweb's server runs it exactly as it runs the real framework: the WSGI split,
//! demonstrated. The real one (`src/framework/`) adds what this leaves out: `#[route]` beside
//! each handler, path parameters (`/add/{code}.html`), methods (405 with `Allow`), templates,
//! a database and one error type.

use std::collections::HashMap;
use std::sync::Arc;

use miniweb::http::{App, Request, Response};
use miniweb::server::{Server, ServerConfig};

/// A handler takes the request and returns the page.
type Handler = fn(&Request) -> String;

/// The route table: path -> handler, as the course's `URL_FUNC_DICT`.
struct TinyFramework {
    routes: HashMap<&'static str, Handler>,
}

impl TinyFramework {
    /// `@route(path)` in the course: remember which function answers which path.
    fn route(&mut self, path: &'static str, handler: Handler) {
        self.routes.insert(path, handler);
    }
}

impl App for TinyFramework {
    /// The course's `application(env, start_response)`: find the handler, or 404.
    fn call(&self, req: &Request) -> Response {
        match self.routes.get(req.path.as_str()) {
            Some(handler) => Response::html(200, handler(req)),
            None => Response::html(404, format!("<h1>No page at {}</h1>", req.path)),
        }
    }
}

fn index(_: &Request) -> String {
    "<h1>Stocks</h1><p>the index page of the tiny framework</p>".into()
}

fn center(_: &Request) -> String {
    "<h1>Personal centre</h1><p>followed stocks would be here</p>".into()
}

/// Every page of the site, registered in one place.
fn routes() -> TinyFramework {
    let mut app = TinyFramework {
        routes: HashMap::new(),
    };
    app.route("/index.html", index);
    app.route("/center.html", center);
    app
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "9005".into());
    let server = Server::bind(
        &[format!("127.0.0.1:{port}").parse()?],
        ServerConfig::default(),
    )?;
    println!("listening on {}", server.local_addrs()[0]);
    server.run(Arc::new(routes()));
    Ok(())
}
