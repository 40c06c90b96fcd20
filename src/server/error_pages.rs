//! The site's own error pages in place of the server's (`--error-pages`, `page_404`,
//! `page_50x`): `404.html` for a path with nothing behind it, `50x.html` for every 5xx, sent
//! with the status of the error, as nginx's `error_page` and static-web-server do. They
//! dress the server's stock pages wherever one is sent (a missing file, a 503 at the cap, a
//! panic's 500, a site whose app has no page of its own for that status); a page an app
//! renders itself is its own. They are read once, at start-up: a missing one is an error then,
//! not a surprise later.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::http::{Body, Response};

/// The pages, read.
#[derive(Debug, Default)]
pub(crate) struct ErrorPages {
    not_found: Option<Arc<[u8]>>,
    server_error: Option<Arc<[u8]>>,
}

/// Where the pages are, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorPageFiles {
    /// The page of a 404.
    pub not_found: Option<PathBuf>,
    /// The page of every 5xx.
    pub server_error: Option<PathBuf>,
}

impl ErrorPageFiles {
    /// Whether any page is set.
    pub fn is_empty(&self) -> bool {
        self.not_found.is_none() && self.server_error.is_none()
    }

    /// For the start-up line.
    pub fn describe(&self) -> String {
        let names: Vec<String> = [("404", &self.not_found), ("5xx", &self.server_error)]
            .into_iter()
            .filter_map(|(s, p)| p.as_ref().map(|p| format!("{s} from {}", p.display())))
            .collect();
        names.join(", ")
    }
}

impl ErrorPages {
    /// The pages `files` names, read; `Err` names the one that cannot be.
    pub(crate) fn read(files: &ErrorPageFiles) -> Result<ErrorPages, (PathBuf, std::io::Error)> {
        let read = |p: &Option<PathBuf>| -> Result<Option<Arc<[u8]>>, (PathBuf, std::io::Error)> {
            p.as_deref()
                .map(|p: &Path| {
                    std::fs::read(p)
                        .map(Arc::from)
                        .map_err(|e| (p.to_path_buf(), e))
                })
                .transpose()
        };
        Ok(ErrorPages {
            not_found: read(&files.not_found)?,
            server_error: read(&files.server_error)?,
        })
    }

    /// The site's page for `status`, if it has one.
    fn page(&self, status: u16) -> Option<&Arc<[u8]>> {
        match status {
            404 => self.not_found.as_ref(),
            500..=599 => self.server_error.as_ref(),
            _ => None,
        }
    }

    /// `resp` with the site's page in place of the server's stock one, if there is one for
    /// its status; any other response as it is.
    pub(crate) fn dress(&self, mut resp: Response) -> Response {
        if let Some(page) = self.page(resp.status) {
            if resp.is_stock_error_page() {
                resp.body = Body::Shared(page.clone());
                resp.headers.set("Content-Type", "text/html; charset=utf-8");
            }
        }
        resp
    }

    /// The error page of `status`: the site's, or the server's stock one.
    pub(crate) fn for_status(&self, status: u16) -> Response {
        self.dress(Response::error_page(status))
    }
}
