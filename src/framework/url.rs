//! `url_for`, as Flask's: a route's path built from its handler's name and parameters, so
//! that templates and redirects never spell a path by hand. In Rust it is [`Ctx::url_for`];
//! in templates `{{ url_for(name="add", code=stock.code) }}`.
//!
//! A name is the handler's function name (`add`), or its full path (`stocks::add`) when two
//! modules have one of that name. Each parameter is percent-encoded into its segment;
//! parameters the pattern does not capture become the query string. An unknown name or a
//! missing parameter is an error naming both, which fails the render that asked.
//!
//! [`Ctx::url_for`]: super::Ctx::url_for

use std::sync::Arc;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::pattern::Pattern;

/// What a query string's name or value leaves unencoded (the unreserved characters).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Every route's handler name and pattern, for building paths.
#[derive(Debug, Clone, Default)]
pub(crate) struct Urls {
    /// (the handler's full path, its full pattern, parsed)
    routes: Vec<(String, String, Pattern)>,
}

impl Urls {
    /// The table of `routes`: (handler's full path, full pattern). Patterns were checked when
    /// the router was built; one that does not parse is left out.
    pub fn new<'a>(routes: impl IntoIterator<Item = (&'a str, &'a str)>) -> Urls {
        let routes = routes
            .into_iter()
            .filter_map(|(name, pattern)| {
                Pattern::parse(pattern)
                    .ok()
                    .map(|p| (name.to_string(), pattern.to_string(), p))
            })
            .collect();
        Urls { routes }
    }

    /// The path of the handler `name` with `params`, or why there is none.
    pub fn build(&self, name: &str, params: &[(&str, &str)]) -> Result<String, String> {
        let suffix = format!("::{name}");
        let found: Vec<&(String, String, Pattern)> = self
            .routes
            .iter()
            .filter(|(full, _, _)| full == name || full.ends_with(&suffix))
            .collect();
        let mut handlers: Vec<&str> = found.iter().map(|(full, _, _)| full.as_str()).collect();
        handlers.dedup();
        let (_, text, pattern) = match (found.first(), handlers.len()) {
            (None, _) => return Err(format!("url_for({name:?}): no route's handler is named so")),
            (Some(route), 1) => *route,
            _ => {
                return Err(format!(
                    "url_for({name:?}): several handlers have this name ({}); give the full path",
                    handlers.join(", ")
                ))
            }
        };
        let value = |capture: &str| params.iter().find(|(n, _)| *n == capture).map(|(_, v)| *v);
        let mut path = pattern.fill(value).map_err(|missing| {
            format!("url_for({name:?}): the route {text} needs the parameter {missing:?}")
        })?;
        let captures: Vec<&str> = pattern.captures().collect();
        let mut extra = params
            .iter()
            .filter(|(n, _)| !captures.contains(n))
            .peekable();
        if extra.peek().is_some() {
            let query: Vec<String> = extra
                .map(|(n, v)| {
                    format!(
                        "{}={}",
                        utf8_percent_encode(n, QUERY),
                        utf8_percent_encode(v, QUERY)
                    )
                })
                .collect();
            path.push('?');
            path.push_str(&query.join("&"));
        }
        Ok(path)
    }

    /// `url_for` for templates: `url_for(name="add", code=…)`, every other argument a
    /// parameter (numbers and booleans written as text).
    pub fn tera_function(self: Arc<Self>) -> impl tera::Function<tera::TeraResult<String>> {
        move |kwargs: tera::Kwargs, _: &tera::State| {
            let name: String = kwargs.must_get("name")?;
            let params: Vec<(String, String)> = kwargs
                .iter()
                .filter(|(key, _)| key.to_string() != "name")
                .map(|(key, value)| {
                    let text = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_string);
                    (key.to_string(), text)
                })
                .collect();
            let params: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            self.build(&name, &params).map_err(tera::Error::message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        Urls::new([
            ("site::stocks::add", "/add/{code}.html"),
            ("site::stocks::index", "/index.html"),
            ("site::admin::index", "/admin/"),
            ("site::notes::note", "/notes/{id}/{slug}"),
        ])
    }

    #[test]
    fn paths_are_built_from_names_and_encoded_parameters() {
        let u = urls();
        assert_eq!(
            u.build("add", &[("code", "000007")]),
            Ok("/add/000007.html".into())
        );
        assert_eq!(u.build("stocks::index", &[]), Ok("/index.html".into()));
        assert_eq!(u.build("site::admin::index", &[]), Ok("/admin/".into()));
        assert_eq!(
            u.build("note", &[("id", "7"), ("slug", "a b/c?d#e%")]),
            Ok("/notes/7/a%20b%2Fc%3Fd%23e%25".into())
        );
        assert_eq!(
            u.build("note", &[("id", ".."), ("slug", ".")]),
            Ok("/notes/%2E%2E/%2E".into())
        );
        let missing = u.build("note", &[("id", "中")]).unwrap_err();
        assert!(missing.contains("\"slug\""), "{missing}");
        assert_eq!(
            u.build("add", &[("code", "1"), ("next", "/a b"), ("q", "x&y")]),
            Ok("/add/1.html?next=%2Fa%20b&q=x%26y".into())
        );
    }

    #[test]
    fn unknown_ambiguous_and_incomplete_names_say_which() {
        let u = urls();
        let err = u.build("nope", &[]).unwrap_err();
        assert!(err.contains("\"nope\""), "{err}");
        let err = u.build("index", &[]).unwrap_err();
        assert!(
            err.contains("site::stocks::index") && err.contains("site::admin::index"),
            "{err}"
        );
        let err = u.build("add", &[]).unwrap_err();
        assert!(
            err.contains("\"add\"") && err.contains("\"code\"") && err.contains("/add/{code}.html"),
            "{err}"
        );
    }
}
