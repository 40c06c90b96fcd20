//! The route table: patterns like `/add/{code}.html` matched against whole paths, built once
//! from the `#[route]` registrations, duplicates refused, then frozen.

use std::borrow::Cow;
use std::fmt;

use percent_encoding::percent_decode_str;

use super::context::{Ctx, Params};
use super::error::Error;
use crate::http::Response;

/// A handler: reads the request through its context, answers or fails with an [`Error`].
pub type Handler = fn(&Ctx<'_>) -> Result<Response, Error>;

/// One registration, as `#[route]` submits it.
pub struct RouteDef {
    /// `GET`, `POST`, ...
    pub method: &'static str,
    /// The path pattern, `{name}` capturing one segment.
    pub pattern: &'static str,
    /// The function that answers.
    pub handler: Handler,
    /// The handler's full path, for messages and `--routes`.
    pub name: &'static str,
}

inventory::collect!(RouteDef);

/// One segment of a pattern: literal text, or a capture with literal text around it
/// (`{code}.html` is a capture `code` followed by `.html`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Capture {
        prefix: String,
        name: String,
        suffix: String,
    },
}

/// A parsed pattern.
#[derive(Debug, Clone)]
struct Pattern {
    segments: Vec<Segment>,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err("must start with `/`".into());
        };
        let mut segments = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for seg in rest.split('/') {
            let opens = seg.matches('{').count();
            let closes = seg.matches('}').count();
            if opens == 0 && closes == 0 {
                segments.push(Segment::Literal(seg.to_string()));
                continue;
            }
            if opens != 1 || closes != 1 {
                return Err(format!(
                    "segment {seg:?}: at most one `{{name}}` per segment"
                ));
            }
            let (prefix, after) = seg.split_once('{').unwrap_or_default();
            let Some((name, suffix)) = after.split_once('}') else {
                return Err(format!("segment {seg:?}: `}}` before `{{`"));
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!(
                    "segment {seg:?}: a capture name is letters, digits or `_`"
                ));
            }
            if names.contains(&name) {
                return Err(format!("capture {name:?} appears twice"));
            }
            names.push(name);
            segments.push(Segment::Capture {
                prefix: prefix.to_string(),
                name: name.to_string(),
                suffix: suffix.to_string(),
            });
        }
        Ok(Pattern { segments })
    }

    /// The pattern with capture names erased: two patterns with the same shape match the same
    /// paths, so they are duplicates.
    fn shape(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            match seg {
                Segment::Literal(l) => s.push_str(l),
                Segment::Capture { prefix, suffix, .. } => {
                    s.push_str(prefix);
                    s.push_str("{}");
                    s.push_str(suffix);
                }
            }
        }
        s
    }

    /// Matches a raw (percent-encoded) path; each segment is decoded before comparing, and a
    /// capture holds its decoded text. `None` if the path does not match.
    fn matches(&self, raw_path: &str) -> Option<Params> {
        self.try_match(raw_path).ok()
    }

    /// [`Pattern::matches`], saying where a path that does not match parted from the pattern.
    /// Allocates nothing on a miss: the lookup of every request tries several patterns.
    fn try_match(&self, raw_path: &str) -> Result<Params, Miss> {
        let rest = raw_path.strip_prefix('/').ok_or(Miss::NoSlash)?;
        let mut parts = rest.split('/');
        let mut params = Params::default();
        for (at, seg) in self.segments.iter().enumerate() {
            let part = parts.next().ok_or(Miss::TooShort { at })?;
            // Most segments have nothing to decode, and a `&str` is UTF-8 already: only a
            // segment with a `%` goes through the decoder (this runs for every route tried).
            let decoded = if part.contains('%') {
                percent_decode_str(part)
                    .decode_utf8()
                    .map_err(|_| Miss::NotUtf8 { at })?
            } else {
                Cow::Borrowed(part)
            };
            match seg {
                Segment::Literal(l) => {
                    if *decoded != **l {
                        return Err(Miss::Literal { at });
                    }
                }
                Segment::Capture {
                    prefix,
                    name,
                    suffix,
                } => {
                    let value = decoded
                        .strip_prefix(prefix.as_str())
                        .ok_or(Miss::Prefix { at })?;
                    let value = value
                        .strip_suffix(suffix.as_str())
                        .ok_or(Miss::Suffix { at })?;
                    if value.is_empty() {
                        return Err(Miss::Empty { at });
                    }
                    params.push(name, value.to_string());
                }
            }
        }
        if parts.next().is_some() {
            return Err(Miss::TooLong);
        }
        Ok(params)
    }

    /// Why `raw_path` does not match, in words, and how close it came: the segments it
    /// matched, then how few edits the first differing segment is from the pattern's.
    fn explain(&self, raw_path: &str, miss: Miss) -> (String, (usize, usize)) {
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

/// Where a path parted from a pattern; `at` counts segments from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    NoSlash,
    TooShort { at: usize },
    TooLong,
    NotUtf8 { at: usize },
    Literal { at: usize },
    Prefix { at: usize },
    Suffix { at: usize },
    Empty { at: usize },
}

/// The Levenshtein distance between two short texts, by characters; texts are cut at 64
/// characters, which is plenty to rank path segments and bounds the work.
fn edit_distance(a: &str, b: &str) -> usize {
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

/// Why one route did not answer a request, for the 404 page of dev mode.
#[derive(Debug, serde::Serialize)]
pub struct Unmatched {
    /// The route's method.
    pub method: &'static str,
    /// Its pattern as written.
    pub pattern: &'static str,
    /// Its handler's name.
    pub handler: &'static str,
    /// Why not, in words.
    pub why: String,
}

/// A route in the frozen table.
pub struct Route {
    /// The method it answers.
    pub method: &'static str,
    /// The pattern as written.
    pub pattern: &'static str,
    /// The handler's name.
    pub name: &'static str,
    /// The handler.
    pub handler: Handler,
    parsed: Pattern,
}

impl Route {
    /// The one path this route matches when its pattern has no `{capture}`.
    pub fn fixed_path(&self) -> Option<&'static str> {
        (!self.pattern.contains('{')).then_some(self.pattern)
    }
}

/// Why the route table could not be built.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteError(pub String);

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RouteError {}

/// The outcome of looking a request up.
pub enum RouteMatch<'a> {
    /// A route answers this method and path.
    Found(&'a Route, Params),
    /// Routes match the path, but for other methods: these.
    MethodNotAllowed(Vec<&'static str>),
    /// No route matches the path.
    NotFound,
}

/// The frozen route table.
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// The table of every `#[route]` in the program.
    pub fn collect() -> Result<Router, RouteError> {
        Router::new(inventory::iter::<RouteDef>())
    }

    /// A table of exactly these routes. Refuses malformed patterns and two handlers for the same
    /// method and pattern shape, naming the handlers.
    pub fn new<'a>(defs: impl IntoIterator<Item = &'a RouteDef>) -> Result<Router, RouteError> {
        let mut routes: Vec<Route> = Vec::new();
        for def in defs {
            let parsed = Pattern::parse(def.pattern)
                .map_err(|e| RouteError(format!("route {:?} of {}: {e}", def.pattern, def.name)))?;
            if let Some(other) = routes
                .iter()
                .find(|r| r.method == def.method && r.parsed.shape() == parsed.shape())
            {
                return Err(RouteError(format!(
                    "{} {} is declared twice: by {} ({:?}) and by {} ({:?})",
                    def.method,
                    parsed.shape(),
                    other.name,
                    other.pattern,
                    def.name,
                    def.pattern
                )));
            }
            routes.push(Route {
                method: def.method,
                pattern: def.pattern,
                name: def.name,
                handler: def.handler,
                parsed,
            });
        }
        // A stable order for `--routes` and for `Allow`, whatever order the linker chose.
        routes.sort_by(|a, b| (a.pattern, a.method).cmp(&(b.pattern, b.method)));
        Ok(Router { routes })
    }

    /// Finds the route for `method` and a raw path. HEAD is answered by GET routes.
    pub fn lookup(&self, method: &str, raw_path: &str) -> RouteMatch<'_> {
        let mut allow: Vec<&'static str> = Vec::new();
        let mut get_route = None;
        for route in &self.routes {
            let Some(params) = route.parsed.matches(raw_path) else {
                continue;
            };
            if route.method == method {
                return RouteMatch::Found(route, params);
            }
            if route.method == "GET" && method == "HEAD" {
                get_route = Some((route, params));
            }
            allow.push(route.method);
        }
        if let Some((route, params)) = get_route {
            return RouteMatch::Found(route, params);
        }
        if allow.is_empty() {
            return RouteMatch::NotFound;
        }
        if allow.contains(&"GET") {
            allow.push("HEAD");
        }
        allow.push("OPTIONS");
        allow.sort_unstable();
        allow.dedup();
        RouteMatch::MethodNotAllowed(allow)
    }

    /// Why no route answers `method` on `raw_path`: every route with the reason, the closest
    /// first (the path matched, only the method differs; then the most segments matched;
    /// then the fewest edits away).
    pub fn explain(&self, method: &str, raw_path: &str) -> Vec<Unmatched> {
        let mut all: Vec<((usize, usize, usize), Unmatched)> = self
            .routes
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
                    pattern: route.pattern,
                    handler: route.name,
                    why,
                };
                (rank, unmatched)
            })
            .collect();
        all.sort_by_key(|(rank, _)| *rank);
        all.into_iter().map(|(_, u)| u).collect()
    }

    /// Every route, in the table's order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route table as `flask routes` prints it.
    pub fn table(&self) -> String {
        let width = self
            .routes
            .iter()
            .map(|r| r.pattern.len())
            .max()
            .unwrap_or(0)
            .max(7);
        let mut out = format!("{:<7} {:<width$} HANDLER\n", "METHOD", "PATTERN");
        for r in &self.routes {
            out.push_str(&format!(
                "{:<7} {:<width$} {}\n",
                r.method, r.pattern, r.name
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: &Ctx<'_>) -> Result<Response, Error> {
        Ok(Response::new(200))
    }

    fn def(method: &'static str, pattern: &'static str, name: &'static str) -> RouteDef {
        RouteDef {
            method,
            pattern,
            handler: ok,
            name,
        }
    }

    #[test]
    fn patterns_match_whole_paths_and_capture_decoded_segments() {
        let p = Pattern::parse("/add/{code}.html").unwrap();
        let cases: &[(&str, Option<&str>)] = &[
            ("/add/000007.html", Some("000007")),
            ("/add/%E4%B8%AD.html", Some("中")),
            ("/add/a%20b.html", Some("a b")),
            ("/add/000007%2Ehtml", Some("000007")),
            ("/add/.html", None),
            ("/add/000007.htm", None),
            ("/add/000007.html/x", None),
            ("/x/add/000007.html", None),
            ("/add", None),
            ("/add/", None),
            ("add/1.html", None),
            ("/add/%FF.html", None),
        ];
        for (path, want) in cases {
            let got = p.matches(path);
            assert_eq!(got.as_ref().and_then(|g| g.get("code")), *want, "{path}");
        }
        let root = Pattern::parse("/").unwrap();
        assert!(root.matches("/").is_some());
        assert!(root.matches("/index.html").is_none());
    }

    #[test]
    fn a_miss_is_explained_and_the_closest_route_comes_first() {
        let defs = [
            def("GET", "/index.html", "index"),
            def("GET", "/center.html", "center"),
            def("POST", "/add/{code}.html", "add"),
            def("GET", "/update/{code}.html", "edit"),
        ];
        let router = Router::new(&defs).unwrap();
        let why = |method, path| {
            router
                .explain(method, path)
                .into_iter()
                .map(|u| (u.handler, u.why))
                .collect::<Vec<_>>()
        };
        let typo = why("GET", "/index.htm");
        assert_eq!(typo[0].0, "index", "{typo:?}");
        assert_eq!(
            typo[0].1,
            "segment 1 is “index.htm”, the pattern has “index.html”"
        );
        let get_add = why("GET", "/add/000007.html");
        assert_eq!(get_add[0].0, "add");
        assert_eq!(
            get_add[0].1,
            "the path matches, but it takes POST only, not GET"
        );
        let suffix = why("POST", "/add/000007.htm");
        assert_eq!(
            suffix[0].1,
            "segment 2 “000007.htm” does not end with “.html”"
        );
        let empty = why("POST", "/add/.html");
        assert_eq!(empty[0].1, "parameter {code} is empty");
        let short = why("GET", "/update");
        assert_eq!(
            short[0],
            (
                "edit",
                "the path ends after 1 of the 2 segments of the pattern".to_string()
            )
        );
        let long = why("GET", "/center.html/x");
        assert_eq!(
            long[0],
            (
                "center",
                "the path goes on past the 1 segments of the pattern: “/x” is left".to_string()
            )
        );
        assert_eq!(why("GET", "/center.html")[0].1, "matches");
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("index.htm", "index.html"), 1);
        assert_eq!(edit_distance("中心", "中间"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "index.html",
            "/a/{",
            "/a/}",
            "/a/{}",
            "/a/{x}{y}",
            "/a/}x{",
            "/{x}/{x}",
            "/{bad-name}",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
            let defs = [def("GET", bad, "h")];
            let err = Router::new(defs.iter()).err().unwrap();
            assert!(err.0.contains("h"), "{err}");
        }
    }

    #[test]
    fn duplicates_name_both_handlers() {
        let defs = [
            def("POST", "/add/{code}.html", "app::add"),
            def("POST", "/add/{id}.html", "app::add_again"),
        ];
        let err = Router::new(defs.iter()).err().unwrap().0;
        assert!(
            err.contains("app::add ") && err.contains("app::add_again"),
            "{err}"
        );
        let fine = [
            def("GET", "/add/{code}.html", "a"),
            def("POST", "/add/{code}.html", "b"),
        ];
        assert!(Router::new(fine.iter()).is_ok());
    }

    #[test]
    fn not_found_vs_method_not_allowed() {
        let defs = [
            def("GET", "/index.html", "index"),
            def("POST", "/add/{code}.html", "add"),
        ];
        let r = Router::new(defs.iter()).unwrap();
        assert!(matches!(
            r.lookup("GET", "/nope.html"),
            RouteMatch::NotFound
        ));
        assert!(matches!(
            r.lookup("GET", "/index.html"),
            RouteMatch::Found(..)
        ));
        assert!(matches!(
            r.lookup("HEAD", "/index.html"),
            RouteMatch::Found(..)
        ));
        match r.lookup("GET", "/add/1.html") {
            RouteMatch::MethodNotAllowed(allow) => assert_eq!(allow, ["OPTIONS", "POST"]),
            _ => panic!("expected 405"),
        }
        match r.lookup("POST", "/index.html") {
            RouteMatch::MethodNotAllowed(allow) => assert_eq!(allow, ["GET", "HEAD", "OPTIONS"]),
            _ => panic!("expected 405"),
        }
    }
}
