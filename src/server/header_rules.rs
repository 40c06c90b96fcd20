//! Headers added by path (`--header "Name: value"`, `[[headers]]` in the config): HSTS on
//! every answer, a year of `Cache-Control` for `*.woff2`. A rule sets its headers on every
//! answer below 400 whose path its glob matches, replacing what the server or the app set
//! (that is the point of a `Cache-Control` rule), in the order the rules are written. Error
//! answers are left alone, as nginx's `add_header` leaves them: a year of caching on a 404
//! would keep a font missing long after it is uploaded. The headers that frame the message or
//! that the server computes (`Content-Length`, `ETag`, ...) are refused at start-up.

use super::glob::Glob;
use super::grammar::{is_safe_value, is_token};
use crate::http::Response;

/// Header fields a rule may not set: the server sets them itself, from the body and the
/// connection, and another value would break the message or its caching.
const SERVER_OWNED: &[&str] = &[
    "content-length",
    "content-range",
    "content-encoding",
    "transfer-encoding",
    "etag",
    "last-modified",
    "connection",
    "keep-alive",
    "upgrade",
    "trailer",
    "date",
    "location",
    "www-authenticate",
];

/// One rule: the paths, and the headers to set on their answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRule {
    /// The paths it is for.
    pub path: Glob,
    /// (name, value) of each header it sets.
    pub headers: Vec<(String, String)>,
}

impl HeaderRule {
    /// A rule for `path` (a glob); `Err` says what is wrong in one line.
    pub fn new(path: &str, headers: Vec<(String, String)>) -> Result<HeaderRule, String> {
        let glob = Glob::new(path).map_err(|e| format!("path {path:?}: {e}"))?;
        for (name, value) in &headers {
            check_header(name, value)?;
        }
        Ok(HeaderRule {
            path: glob,
            headers,
        })
    }

    /// `--header "Name: value"`: for every path.
    pub fn from_flag(line: &str) -> Result<HeaderRule, String> {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("--header {line:?}: write it as \"Name: value\""))?;
        HeaderRule::new("/**", vec![(name.trim().into(), value.trim().into())])
    }
}

/// Refuses a field name that is not a token, a value that would break the head, and the
/// fields the server owns.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    if !is_token(name) {
        return Err(format!("{name:?} is not a header name"));
    }
    if !is_safe_value(value) {
        return Err(format!("{name}: the value must be one line"));
    }
    if SERVER_OWNED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "{name} is set by the server itself, from the body and the request; a rule may \
             not set it"
        ));
    }
    Ok(())
}

/// Sets the headers of every rule whose glob matches `path` on `resp`, if it is no error.
pub(crate) fn apply(rules: &[HeaderRule], path: &str, resp: &mut Response) {
    if resp.status >= 400 {
        return;
    }
    for rule in rules.iter().filter(|r| r.path.matches(path)) {
        for (name, value) in &rule.headers {
            resp.headers.set(name.as_str(), value.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_replace_by_path_and_leave_errors_alone() {
        let rules = [
            HeaderRule::from_flag("Strict-Transport-Security: max-age=63072000").unwrap(),
            HeaderRule::new(
                "*.woff2",
                vec![("Cache-Control".into(), "max-age=31536000, immutable".into())],
            )
            .unwrap(),
        ];
        let mut font = Response::new(200).with_header("Cache-Control", "public, max-age=300");
        apply(&rules, "/fonts/a.woff2", &mut font);
        assert_eq!(
            font.headers.get("Cache-Control"),
            Some("max-age=31536000, immutable")
        );
        assert!(font.headers.get("Strict-Transport-Security").is_some());
        let mut page = Response::new(200);
        apply(&rules, "/index.html", &mut page);
        assert_eq!(page.headers.get("Cache-Control"), None);
        let mut missing = Response::new(404);
        apply(&rules, "/fonts/b.woff2", &mut missing);
        assert_eq!(missing.headers.get("Cache-Control"), None);
    }

    #[test]
    fn the_servers_own_fields_and_broken_lines_are_refused() {
        for line in [
            "Content-Length: 1",
            "etag: \"x\"",
            "no colon",
            "Bad Name: x",
        ] {
            assert!(HeaderRule::from_flag(line).is_err(), "{line}");
        }
        let err = HeaderRule::new("/**", vec![("X-A".into(), "a\r\nSet-Cookie: b".into())]);
        assert!(err.is_err());
    }
}
