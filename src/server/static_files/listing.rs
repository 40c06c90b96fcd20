//! Directory listings (`autoindex`): a folder without `index.html` shown as its entries,
//! folders first, then files, as HTML or, for `Accept: application/json`, as JSON. Dotfiles
//! and symlinks that lead out of the root are never shown; names are escaped in the page and
//! percent-encoded in links.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use super::hidden::Hidden;
use crate::http::{accept_quality, escape_html as escape, Body, Request, Response};
use crate::server::date::rfc3339;

/// Entries shown at most; a folder with more says how many were left out.
const MAX_LISTED: usize = 10_000;

/// Bytes that stay as they are in a link to one path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One entry of a folder, as shown.
#[derive(Debug, Serialize, PartialEq, Eq)]
struct Listed {
    name: String,
    #[serde(rename = "type")]
    kind: Kind,
    /// Bytes, for files.
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    /// RFC 3339, UTC.
    modified: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Dir,
    File,
}

/// The JSON form of a listing.
#[derive(Serialize)]
struct Json<'a> {
    path: &'a str,
    sort: SortBy,
    order: &'a str,
    entries: &'a [Listed],
    /// Entries not shown beyond the limit.
    omitted: usize,
}

/// What a listing page offers besides its entries.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Offers<'a> {
    /// The stylesheet it links to; `None` for a few lines of its own.
    pub stylesheet: Option<&'a str>,
    /// A form to upload files into the folder.
    pub upload_form: bool,
    /// Links to the folder as a `.tar.gz` and a `.zip`.
    pub archives: bool,
}

/// The listing of `dir` (canonical, inside the canonical `root`) in `order`, answering `req`.
pub(crate) fn respond(
    req: &Request,
    root: &Path,
    dir: &Path,
    order: Order,
    offers: Offers<'_>,
    hidden: &Hidden,
) -> Response {
    let (entries, omitted) = match read(root, dir, hidden, order) {
        Ok(found) => found,
        Err(e) => {
            log::warn!("listing {}: {e}", dir.display());
            return Response::error_page(404);
        }
    };
    let resp = if wants_json(req.header("Accept")) {
        let json = Json {
            path: &req.path,
            sort: order.by,
            order: if order.descending { "desc" } else { "asc" },
            entries: &entries,
            omitted,
        };
        let body = serde_json::to_vec_pretty(&json).unwrap_or_default();
        Response::new(200)
            .with_header("Content-Type", "application/json")
            .with_body(Body::Bytes(body))
    } else {
        Response::html(200, html(&req.path, &entries, omitted, order, offers))
    };
    resp.with_header("Vary", "Accept")
        .with_header("Cache-Control", "no-cache")
}

/// One entry a listing (or an archive) shows: a folder or a regular file the file server
/// would serve.
pub(super) struct Visible {
    pub name: String,
    pub path: PathBuf,
    pub meta: fs::Metadata,
}

/// The entries of `dir` the file server would serve, in no order, as they are read: no
/// dotfile, nothing through a symlink out of `root`, no hidden file, no socket or device.
pub(super) fn visible<'a>(
    root: &'a Path,
    dir: &Path,
    hidden: &'a Hidden,
) -> io::Result<impl Iterator<Item = Visible> + 'a> {
    let items = fs::read_dir(dir)?;
    Ok(items.filter_map(move |item| {
        let item = item.ok()?; // gone while the folder was read
        let name = item.file_name().into_string().ok()?; // not UTF-8: no link could name it
        if name.starts_with('.') {
            return None;
        }
        let path = item.path();
        // Shown only if the file server would serve it: inside the root (after symlinks),
        // and not a hidden file. `dir` is canonical, so only a symlink needs resolving.
        let real = match item.file_type().ok()?.is_symlink() {
            true => path.canonicalize().ok()?,
            false => path.clone(),
        };
        if !real.starts_with(root) || hidden.hides(&real) {
            return None;
        }
        let meta = fs::metadata(&path).ok()?;
        // Not sockets, devices, fifos.
        (meta.is_dir() || meta.is_file()).then_some(Visible { name, path, meta })
    }))
}

/// The visible entries of `dir`, folders first, then in `order`, at most [`MAX_LISTED`];
/// and how many more there were.
fn read(
    root: &Path,
    dir: &Path,
    hidden: &Hidden,
    order: Order,
) -> io::Result<(Vec<Listed>, usize)> {
    let entries = visible(root, dir, hidden)?.map(|v| {
        let kind = if v.meta.is_dir() {
            Kind::Dir
        } else {
            Kind::File
        };
        Listed {
            name: v.name,
            kind,
            size: (kind == Kind::File).then_some(v.meta.len()),
            modified: v.meta.modified().ok().map(rfc3339),
        }
    });
    Ok(first_in_order(entries, MAX_LISTED, |a, b| {
        order.compare(a, b)
    }))
}

/// The first `n` of `items` by `cmp`, sorted, and how many were left out. It holds at most
/// `2 n` at a time, so that a folder of a million files costs what one of `2 n` does.
fn first_in_order<T>(
    items: impl Iterator<Item = T>,
    n: usize,
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> (Vec<T>, usize) {
    let mut kept = Vec::new();
    let mut seen = 0;
    for item in items {
        seen += 1;
        kept.push(item);
        if kept.len() == 2 * n.max(1) {
            kept.select_nth_unstable_by(n.max(1) - 1, &cmp);
            kept.truncate(n);
        }
    }
    kept.sort_by(&cmp);
    kept.truncate(n);
    let left_out = seen - kept.len();
    (kept, left_out)
}

/// What a listing is sorted by, from `?sort=` and `?order=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum SortBy {
    Name,
    Size,
    Modified,
}

/// The order of a listing: folders always come first, then the files (and the folders among
/// themselves) by `by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Order {
    by: SortBy,
    descending: bool,
}

impl Order {
    /// The order a query's decoded `pairs` ask for: `sort=name|size|modified` (or `date`),
    /// `order=asc|desc`; by name, ascending, when they say nothing. `Err` names what it
    /// cannot use, and the choices.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Result<Order, String> {
        let mut order = Order {
            by: SortBy::Name,
            descending: false,
        };
        for (key, value) in pairs {
            match (key.as_str(), value.as_str()) {
                ("sort", "name") => order.by = SortBy::Name,
                ("sort", "size") => order.by = SortBy::Size,
                ("sort", "modified" | "date" | "time") => order.by = SortBy::Modified,
                ("order", "asc") => order.descending = false,
                ("order", "desc") => order.descending = true,
                ("sort" | "order", v) => {
                    return Err(format!(
                        "{key}={v} is not a way to sort: sort=name|size|modified, order=asc|desc"
                    ))
                }
                _ => {}
            }
        }
        Ok(order)
    }

    /// How `a` and `b` compare in this order: folders first, then by the column (by name
    /// among equals), reversed if descending.
    fn compare(self, a: &Listed, b: &Listed) -> std::cmp::Ordering {
        let within = match self.by {
            SortBy::Name => a.name.cmp(&b.name),
            SortBy::Size => a.size.cmp(&b.size).then_with(|| a.name.cmp(&b.name)),
            SortBy::Modified => a
                .modified
                .cmp(&b.modified)
                .then_with(|| a.name.cmp(&b.name)),
        };
        let within = if self.descending {
            within.reverse()
        } else {
            within
        };
        a.kind.cmp(&b.kind).then(within)
    }

    /// The query of a column's header link: that column, and the other direction if it is
    /// the one sorted by now.
    fn link(self, by: SortBy) -> String {
        let flip = self.by == by && !self.descending;
        let name = match by {
            SortBy::Name => "name",
            SortBy::Size => "size",
            SortBy::Modified => "modified",
        };
        format!(
            "?sort={name}&amp;order={}",
            if flip { "desc" } else { "asc" }
        )
    }
}

/// Whether `Accept` prefers JSON to HTML, by q-values.
fn wants_json(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        accept_quality(Some(a), "application/json") > accept_quality(Some(a), "text/html")
    })
}

/// The HTML page: the site's stylesheet if one is configured, else a few lines of its own.
fn html(
    path: &str,
    entries: &[Listed],
    omitted: usize,
    order: Order,
    offers: Offers<'_>,
) -> String {
    let title = escape(path);
    let style = match offers.stylesheet {
        Some(href) => format!("<link rel=\"stylesheet\" href=\"{}\">", escape(href)),
        None => "<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem}\
                 td{padding:.2rem 1rem .2rem 0}td.num{text-align:right}\
                 form,p.archives{margin:1rem 0}</style>"
            .to_string(),
    };
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Index of {title}</title>\n{style}\n</head>\n<body>\n<main class=\"listing\">\n\
         <h1>Index of {title}</h1>\n"
    );
    if offers.archives {
        page.push_str(
            "<p class=\"archives\">Download this folder: \
             <a href=\"?download=tar.gz\">.tar.gz</a> \
             <a href=\"?download=zip\">.zip</a></p>\n",
        );
    }
    if offers.upload_form {
        page.push_str(
            "<form method=\"post\" enctype=\"multipart/form-data\">\
             <input type=\"file\" name=\"file\" multiple required> \
             <button type=\"submit\">Upload</button></form>\n",
        );
    }
    page.push_str(&format!(
        "<table class=\"listing\">\n<thead><tr><th><a href=\"{}\">Name</a></th>\
         <th><a href=\"{}\">Size</a></th><th><a href=\"{}\">Modified</a></th></tr></thead>\n\
         <tbody>\n",
        order.link(SortBy::Name),
        order.link(SortBy::Size),
        order.link(SortBy::Modified),
    ));
    if path != "/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for e in entries {
        let slash = if e.kind == Kind::Dir { "/" } else { "" };
        let size = e.size.map(human).unwrap_or_default();
        let exact = e
            .size
            .map(|s| format!(" title=\"{s} bytes\""))
            .unwrap_or_default();
        let modified = e
            .modified
            .as_deref()
            .map(|m| m.replacen('T', " ", 1).trim_end_matches('Z').to_string() + " UTC")
            .unwrap_or_default();
        page.push_str(&format!(
            "<tr><td><a href=\"{href}{slash}\">{name}{slash}</a></td>\
             <td class=\"num\"{exact}>{size}</td><td>{modified}</td></tr>\n",
            href = utf8_percent_encode(&e.name, SEGMENT),
            name = escape(&e.name),
        ));
    }
    page.push_str("</tbody>\n</table>\n");
    if omitted > 0 {
        page.push_str(&format!("<p>{omitted} more entries not shown.</p>\n"));
    }
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

/// `1536` -> `1.5 KiB`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_in_order_are_kept_however_many_come() {
        // 1,000 numbers in a scrambled order, of which the 3 smallest, holding 6 at a time.
        let items = (0..1000u32).map(|i| (i * 7919) % 1000);
        let (kept, left_out) = first_in_order(items, 3, |a, b| a.cmp(b));
        assert_eq!((kept, left_out), (vec![0, 1, 2], 997));
        let (kept, left_out) = first_in_order([5, 4].into_iter(), 3, |a, b| b.cmp(a));
        assert_eq!((kept, left_out), (vec![5, 4], 0));
    }

    #[test]
    fn accept_prefers_json_only_when_it_says_so() {
        let cases = [
            (None, false),
            (Some("application/json"), true),
            (Some("text/html,application/xhtml+xml,*/*;q=0.8"), false),
            (Some("application/json, text/html;q=0.5"), true),
            (Some("text/html, application/json;q=0.5"), false),
            (Some("application/*"), true),
            (Some("*/*"), false),
            (Some("application/json;q=0"), false),
        ];
        for (accept, want) in cases {
            assert_eq!(wants_json(accept), want, "{accept:?}");
        }
    }

    #[test]
    fn names_are_escaped_in_text_and_encoded_in_links() {
        let entries = [Listed {
            name: "<b>&\"x\".txt".into(),
            kind: Kind::File,
            size: Some(1536),
            modified: None,
        }];
        let page = html(
            "/a/",
            &entries,
            0,
            Order::from_pairs(&[]).unwrap(),
            Offers::default(),
        );
        assert!(page.contains("&lt;b&gt;&amp;&quot;x&quot;.txt"), "{page}");
        assert!(page.contains("href=\"%3Cb%3E%26%22x%22.txt\""), "{page}");
        assert!(page.contains("1.5 KiB"));
        assert!(!page.contains("<b>"));
    }
}
