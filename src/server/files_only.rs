//! The app of a folder served alone (`miniweb -d DIR`): no routes, so every request that names
//! no file is the server's own 404 (or 405 for a method files do not answer), as
//! `python3 -m http.server` and nginx answer.

use crate::http::{App, Request, Response};

/// Methods a folder served alone answers to.
const ALLOW: &str = "GET, HEAD, OPTIONS";

/// An [`App`] with nothing in it: the server's files are all there is.
#[derive(Debug, Default, Clone, Copy)]
pub struct FilesOnly;

impl App for FilesOnly {
    fn call(&self, req: &Request) -> Response {
        match req.method.as_str() {
            "GET" | "HEAD" => Response::error_page(404),
            "OPTIONS" => Response::new(204).with_header("Allow", ALLOW),
            _ => Response::error_page(405).with_header("Allow", ALLOW),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_a_404_and_other_methods_a_405() {
        let get = FilesOnly.call(&Request::fake("GET", "/index.html"));
        assert_eq!(get.status, 404);
        let post = FilesOnly.call(&Request::fake("POST", "/upload"));
        assert_eq!(post.status, 405);
        assert_eq!(post.headers.get("Allow"), Some(ALLOW));
        assert_eq!(FilesOnly.call(&Request::fake("OPTIONS", "/")).status, 204);
    }
}
