//! Course step 10, WSGI: miniweb's server running an application that is a closure, as
//! Python's `wsgiref.simple_server` runs its `demo_app`.
//!
//!     cargo run --example hello_app -- 9004
//!     curl http://127.0.0.1:9004/hello.html?name=world
//!
//! WSGI is `application(environ, start_response) -> body`. miniweb's is one trait,
//! `App::call(&Request) -> Response` (`src/http/mod.rs`), and any
//! `Fn(&Request) -> Response` is an `App`. The server reads and frames HTTP and serves the
//! files under `static/` itself; `/` and every `*.html` path come here. The framework of
//! `src/framework/` is one such application; `tiny_framework` is another.

use std::sync::Arc;

use miniweb::http::{Request, Response};
use miniweb::server::{Server, ServerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "9004".into());
    let addr = format!("127.0.0.1:{port}").parse()?;
    // The documented defaults, serving the project's static/ folder.
    let server = Server::bind(&[addr], ServerConfig::default())?;
    println!("listening on {}", server.local_addrs()[0]);

    // The environ, shown back: what a WSGI demo_app prints.
    let demo_app = |req: &Request| {
        let mut page = String::from("Hello world!\n\n");
        page.push_str(&format!("REQUEST_METHOD = {}\n", req.method));
        page.push_str(&format!("PATH_INFO = {}\n", req.path));
        page.push_str(&format!("QUERY_STRING = {}\n", req.query));
        page.push_str(&format!("SERVER_PROTOCOL = {}\n", req.version));
        for (name, value) in req.headers.iter() {
            page.push_str(&format!(
                "HTTP_{} = {value}\n",
                name.to_uppercase().replace('-', "_")
            ));
        }
        Response::text(200, page)
    };
    server.run(Arc::new(demo_app));
    Ok(())
}
