//! The route table: patterns like `/add/{code}.html` (`pattern.rs`) matched against whole
//! paths, built once from the `#[route]` registrations, duplicates refused, then frozen. Dev
//! mode's explanation of a miss is in `explain.rs`.

use std::fmt;

use super::context::Ctx;
use super::error::Error;
use super::params::Params;
use super::pattern::Pattern;
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

/// A route in the frozen table.
pub struct Route {
    /// The method it answers.
    pub method: &'static str,
    /// The full pattern: as written, under the prefix of its group if it is mounted.
    pub pattern: String,
    /// The handler's name.
    pub name: &'static str,
    /// The handler.
    pub handler: Handler,
    pub(super) parsed: Pattern,
}

impl Route {
    /// The one path this route matches when its pattern has no `{capture}`.
    pub fn fixed_path(&self) -> Option<&str> {
        (!self.pattern.contains('{')).then_some(self.pattern.as_str())
    }
}

/// A group of routes under a prefix: every `#[route]` of `module` (a module path, as
/// `module_path!()` gives it) and of its submodules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mount {
    /// `/admin`, `/api/v1`: a path without a trailing `/`.
    pub prefix: &'static str,
    /// `site::admin`.
    pub module: &'static str,
}

impl Mount {
    /// Whether the handler `name` (its full path) is in this group.
    fn covers(&self, name: &str) -> bool {
        name.strip_prefix(self.module)
            .is_some_and(|rest| rest.starts_with("::"))
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
        Router::collect_mounted(&[])
    }

    /// [`Router::collect`], with the routes of some modules under a prefix: `("/admin",
    /// "site::admin")` puts `#[route("/users")]` of `site::admin` (and its submodules) at
    /// `/admin/users`, as Flask's blueprints and nested routers do.
    pub fn collect_mounted(mounts: &[Mount]) -> Result<Router, RouteError> {
        Router::mounted(inventory::iter::<RouteDef>(), mounts)
    }

    /// A table of exactly these routes. Refuses malformed patterns and two handlers for the same
    /// method and pattern shape, naming the handlers.
    pub fn new<'a>(defs: impl IntoIterator<Item = &'a RouteDef>) -> Result<Router, RouteError> {
        Router::mounted(defs, &[])
    }

    /// [`Router::new`], with `mounts` applied; duplicates are refused across groups too, on the
    /// full patterns.
    pub fn mounted<'a>(
        defs: impl IntoIterator<Item = &'a RouteDef>,
        mounts: &[Mount],
    ) -> Result<Router, RouteError> {
        for mount in mounts {
            let ok = mount.prefix.starts_with('/')
                && !mount.prefix.ends_with('/')
                && Pattern::parse(mount.prefix).is_ok_and(|p| p.captures().next().is_none());
            if !ok {
                return Err(RouteError(format!(
                    "mount prefix {:?} of {}: a path such as \"/admin\", without a trailing `/` \
                     or a capture",
                    mount.prefix, mount.module
                )));
            }
        }
        let mut routes: Vec<Route> = Vec::new();
        for def in defs {
            let pattern = match mounts.iter().find(|m| m.covers(def.name)) {
                // `/` under `/admin` is `/admin/`.
                Some(m) => format!("{}{}", m.prefix, def.pattern),
                None => def.pattern.to_string(),
            };
            let parsed = Pattern::parse(&pattern)
                .map_err(|e| RouteError(format!("route {pattern:?} of {}: {e}", def.name)))?;
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
                    pattern
                )));
            }
            routes.push(Route {
                method: def.method,
                pattern,
                name: def.name,
                handler: def.handler,
                parsed,
            });
        }
        // A stable order for `--routes` and for `Allow`, whatever order the linker chose.
        routes.sort_by(|a, b| (&a.pattern, a.method).cmp(&(&b.pattern, b.method)));
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
    use crate::framework::explain::edit_distance;

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
