//! One handler, several representations: a page's rows as HTML (its template), as JSON or as
//! CSV, chosen by `?format=` or else by `Accept` and its q-values, with `Vary: Accept`, and
//! 406 when the client accepts none of them. The handler hands over the rows; this module
//! negotiates and writes.

use serde::Serialize;
use serde_json::Value;

use super::error::Error;
use crate::http::{accept_quality, Body, Request, Response, Stream};

/// A form the framework can give a page's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The page's template: `text/html`.
    Html,
    /// `{"<name>": [rows]}`: `application/json`.
    Json,
    /// One line per row under a header of field names: `text/csv`, streamed.
    Csv,
}

impl Representation {
    /// Every representation, in the server's order of preference for ties.
    pub const ALL: [Representation; 3] = [
        Representation::Html,
        Representation::Json,
        Representation::Csv,
    ];

    /// The media type it is sent as, without parameters.
    pub fn media_type(self) -> &'static str {
        match self {
            Representation::Html => "text/html",
            Representation::Json => "application/json",
            Representation::Csv => "text/csv",
        }
    }

    /// Its name in `?format=` and in the page cache's key.
    pub fn name(self) -> &'static str {
        match self {
            Representation::Html => "html",
            Representation::Json => "json",
            Representation::Csv => "csv",
        }
    }
}

/// What `req` asks for: `?format=html|json|csv` if present, else the representation with the
/// highest q-value in `Accept` (no header: HTML). `None` when nothing offered is acceptable.
pub fn negotiated(req: &Request) -> Option<Representation> {
    let format = req
        .query
        .split('&')
        .find_map(|pair| pair.strip_prefix("format="));
    if let Some(format) = format {
        return Representation::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(format));
    }
    let accept = req.header("Accept");
    let (best, q) = Representation::ALL
        .into_iter()
        .map(|r| (r, accept_quality(accept, r.media_type())))
        .fold((Representation::Html, -1.0f32), |best, cur| {
            if cur.1 > best.1 {
                cur
            } else {
                best
            }
        });
    (q > 0.0).then_some(best)
}

/// The 406 for a client that accepts none of the representations.
pub(crate) fn not_acceptable() -> Error {
    let offered: Vec<&str> = Representation::ALL.iter().map(|r| r.media_type()).collect();
    Error::NotAcceptable(format!(
        "This page is offered only as {} (or choose with ?format=html, json or csv).",
        offered.join(", ")
    ))
}

/// `rows` as JSON: `{"<name>": rows}`.
pub(crate) fn json<T: Serialize>(name: &str, rows: &[T]) -> Result<Response, Error> {
    let mut map = serde_json::Map::new();
    map.insert(
        name.to_string(),
        serde_json::to_value(rows).map_err(internal)?,
    );
    let body = serde_json::to_vec(&Value::Object(map)).map_err(internal)?;
    Ok(Response::new(200)
        .with_header("Content-Type", "application/json")
        .with_body(Body::Bytes(body)))
}

/// `rows` as CSV (RFC 4180), streamed: a UTF-8 byte-order mark (so that spreadsheets read the
/// Chinese text as UTF-8), a header of the first row's field names, then one line per row.
/// Each row must serialize to a map of plain values.
pub(crate) fn csv<T: Serialize + Send + 'static>(
    file_name: &str,
    rows: Vec<T>,
) -> Result<Response, Error> {
    let mut values = rows.into_iter().map(|row| serde_json::to_value(row));
    let first = match values.next() {
        Some(v) => Some(v.map_err(internal)?),
        None => None,
    };
    let fields: Vec<String> = match &first {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        Some(other) => {
            return Err(Error::Internal(format!(
                "CSV rows must be maps of fields, got {other}"
            )))
        }
        None => Vec::new(),
    };
    let mut head = "\u{feff}".to_string();
    head.push_str(&line(fields.iter().map(|f| Value::String(f.clone()))));
    let first_line = first.map(|v| Ok(row_line(&fields, &v).into_bytes()));
    let rest_fields = fields.clone();
    let rest = values.map(move |v| match v {
        Ok(v) => Ok(row_line(&rest_fields, &v).into_bytes()),
        Err(e) => Err(std::io::Error::other(e)),
    });
    let chunks = std::iter::once(Ok(head.into_bytes()))
        .chain(first_line)
        .chain(rest);
    Ok(Response::new(200)
        .with_header("Content-Type", "text/csv; charset=utf-8; header=present")
        .with_header(
            "Content-Disposition",
            format!("inline; filename=\"{file_name}\""),
        )
        .with_body(Body::Stream(Stream::new(chunks))))
}

fn row_line(fields: &[String], row: &Value) -> String {
    line(
        fields
            .iter()
            .map(|f| row.get(f).cloned().unwrap_or(Value::Null)),
    )
}

/// One CSV line of `cells`, ended by CRLF.
fn line(cells: impl Iterator<Item = Value>) -> String {
    let mut out = String::new();
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let text = match cell {
            Value::Null => String::new(),
            Value::String(s) => s,
            other => other.to_string(),
        };
        out.push_str(&cell_text(&text));
    }
    out.push_str("\r\n");
    out
}

/// A cell quoted when it must be (a comma, quote or line break in it), and defused when a
/// spreadsheet would run it as a formula (`=`, `+`, `@`, a tab, or `-` not starting a
/// number): a leading `'`, as OWASP advises against CSV injection.
fn cell_text(text: &str) -> String {
    let formula = match text.as_bytes() {
        [b'=' | b'+' | b'@' | b'\t' | b'\r', ..] => true,
        [b'-', next, ..] => !(next.is_ascii_digit() || *next == b'.'),
        _ => false,
    };
    let text = if formula {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn internal(e: serde_json::Error) -> Error {
    Error::Internal(format!("serialising the rows: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(target: &str, accept: Option<&str>) -> Request {
        let mut r = Request::fake("GET", target);
        if let Some(a) = accept {
            r.headers.append("Accept", a);
        }
        r
    }

    #[test]
    fn the_format_parameter_then_accept_decide() {
        use Representation::*;
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let cases = [
            ("/", None, Some(Html)),
            ("/", Some(browser), Some(Html)),
            ("/", Some("application/json"), Some(Json)),
            ("/", Some("text/csv"), Some(Csv)),
            ("/", Some("*/*"), Some(Html)),
            (
                "/",
                Some("text/csv;q=0.5, application/json;q=0.9"),
                Some(Json),
            ),
            ("/", Some("image/png"), None),
            ("/?format=csv", Some("text/html"), Some(Csv)),
            ("/?a=1&format=json", None, Some(Json)),
            ("/?format=xml", None, None),
        ];
        for (target, accept, want) in cases {
            assert_eq!(
                negotiated(&req(target, accept)),
                want,
                "{target} {accept:?}"
            );
        }
    }

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        let cases = [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1", "'+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-3.20%", "-3.20%"),
            ("-cmd", "'-cmd"),
            ("中文", "中文"),
        ];
        for (cell, want) in cases {
            assert_eq!(cell_text(cell), want, "{cell:?}");
        }
    }
}
