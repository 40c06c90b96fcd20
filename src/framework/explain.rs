//! Dev mode's answer to "why did no route match?": every route with the reason in words,
//! the closest first, for the 404 page that lists the routes.

use percent_encoding::percent_decode_str;

use super::pattern::{Miss, Pattern, Segment};
use super::router::Router;

/// Why one route did not answer a request, for the 404 page of dev mode.
#[derive(Debug, serde::Serialize)]
pub struct Unmatched {
    /// The route's method.
    pub method: &'static str,
    /// Its full pattern.
    pub pattern: String,
    /// Its handler's name.
    pub handler: &'static str,
    /// Why not, in words.
    pub why: String,
}

impl Router {
    /// Why no route answers `method` on `raw_path`: every route with the reason, the closest
    /// first (the path matched, only the method differs; then the most segments matched;
    /// then the fewest edits away).
    pub fn explain(&self, method: &str, raw_path: &str) -> Vec<Unmatched> {
        let mut all: Vec<((usize, usize, usize), Unmatched)> = self
            .routes()
            .iter()
            .map(|route| {
                let (why, rank) = match route.parsed.try_match(raw_path) {
                    Ok(_) if route.method == method => ("matches".to_string(), (0, 0, 0)),
                    Ok(_) => (
                        format!(
                            "the path matches, but it takes {} only, not {method}",
                            route.method
                        ),
                        (1, 0, 0),
                    ),
                    Err(miss) => {
                        let (why, (matched, edits)) = route.parsed.explain(raw_path, miss);
                        (why, (2, usize::MAX - matched, edits))
                    }
                };
                let unmatched = Unmatched {
                    method: route.method,
                    pattern: route.pattern.clone(),
                    handler: route.name,
                    why,
                };
                (rank, unmatched)
            })
            .collect();
        all.sort_by_key(|(rank, _)| *rank);
        all.into_iter().map(|(_, u)| u).collect()
    }
}

impl Pattern {
    /// Why `raw_path` does not match, in words, and how close it came: the segments it
    /// matched, then how few edits the first differing segment is from the pattern's.
    pub(super) fn explain(&self, raw_path: &str, miss: Miss) -> (String, (usize, usize)) {
        let parts: Vec<&str> = raw_path.trim_start_matches('/').split('/').collect();
        let shown = |at: usize| {
            let part = parts.get(at).copied().unwrap_or_default();
            percent_decode_str(part).decode_utf8_lossy().into_owned()
        };
        let wanted = |at: usize| match &self.segments[at] {
            Segment::Literal(l) => l.clone(),
            Segment::Capture {
                prefix,
                name,
                suffix,
            } => format!("{prefix}{{{name}}}{suffix}"),
        };
        let n = self.segments.len();
        match miss {
            Miss::NoSlash => ("the path does not start with /".into(), (0, usize::MAX)),
            Miss::TooShort { at } => (
                format!("the path ends after {at} of the {n} segments of the pattern"),
                (at, wanted(at).chars().count()),
            ),
            Miss::TooLong => (
                format!(
                    "the path goes on past the {n} segments of the pattern: “/{}” is left",
                    parts[n..].join("/")
                ),
                (n, parts[n..].iter().map(|p| p.len() + 1).sum()),
            ),
            Miss::NotUtf8 { at } => (
                format!("segment {} is not UTF-8 once decoded", at + 1),
                (at, usize::MAX),
            ),
            Miss::Literal { .. } if n == 1 && wanted(0).is_empty() => (
                "it matches only the root path /".into(),
                (0, shown(0).chars().count()),
            ),
            Miss::Literal { at } => (
                format!(
                    "segment {} is “{}”, the pattern has “{}”",
                    at + 1,
                    shown(at),
                    wanted(at)
                ),
                (at, edit_distance(&shown(at), &wanted(at))),
            ),
            Miss::Prefix { at } | Miss::Suffix { at } | Miss::Empty { at } => {
                let Segment::Capture {
                    prefix,
                    name,
                    suffix,
                } = &self.segments[at]
                else {
                    return (String::new(), (at, usize::MAX));
                };
                let why = match miss {
                    Miss::Prefix { .. } => {
                        format!(
                            "segment {} “{}” does not start with “{prefix}”",
                            at + 1,
                            shown(at)
                        )
                    }
                    Miss::Suffix { .. } => {
                        format!(
                            "segment {} “{}” does not end with “{suffix}”",
                            at + 1,
                            shown(at)
                        )
                    }
                    _ => format!("parameter {{{name}}} is empty"),
                };
                let fixed = format!("{prefix}{suffix}");
                (
                    why,
                    (
                        at,
                        edit_distance(&shown(at), &fixed).min(fixed.chars().count()),
                    ),
                )
            }
        }
    }
}

/// The Levenshtein distance between two short texts, by characters; texts are cut at 64
/// characters, which is plenty to rank path segments and bounds the work.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}
