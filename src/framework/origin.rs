//! Refusing cross-site form posts (CSRF) without tokens, by what browsers say of a request's
//! source, in the order Go's `http.CrossOriginProtection` checks it:
//!
//! 1. `Sec-Fetch-Site` (every current browser sends it): `same-origin` and `none` (typed in
//!    the address bar, a bookmark) pass; `cross-site` and `same-site` are refused.
//! 2. Else `Origin`: it must name this site exactly (scheme, host and port).
//! 3. Else `Referer`: the same, for old browsers that send neither.
//! 4. A request with none of them is not from a browser (curl, a script) and passes: a
//!    browser always sends one of them on a cross-site form post.

use crate::http::{Authority, Request};

/// Why a request was refused: where it came from, and what this site is.
#[derive(Debug, PartialEq, Eq)]
pub struct CrossSite {
    /// The source the browser named (`http://evil.example`, or the `Sec-Fetch-Site` value).
    pub from: String,
    /// This site's origin as the request addressed it.
    pub site: String,
}

/// Checks that `req` comes from this site. This site's origin is the one the server worked out
/// (`req.origin`: `public_origin`, or what a trusted proxy forwarded), else `http://` and the
/// `Host` the request was sent to.
pub fn check_same_origin(req: &Request) -> Result<(), CrossSite> {
    let site = || match &req.origin {
        // Behind a trusted proxy, or fixed by `public_origin`: what the browser addressed.
        Some(origin) => Origin::parse(origin),
        None => {
            let host = req.header("Host").unwrap_or_default().trim();
            Origin::parse(&format!("http://{host}"))
        }
    };
    if let Some(fetch_site) = req.header("Sec-Fetch-Site") {
        let value = fetch_site.trim().to_ascii_lowercase();
        return match value.as_str() {
            "same-origin" | "none" => Ok(()),
            _ => Err(CrossSite {
                from: match req.header("Origin") {
                    Some(o) => format!("{} (Sec-Fetch-Site: {value})", o.trim()),
                    None => format!("Sec-Fetch-Site: {value}"),
                },
                site: site().map_or_else(|| "?".into(), |s| s.to_string()),
            }),
        };
    }
    let source = match req.header("Origin").or_else(|| req.header("Referer")) {
        Some(s) => s.trim(),
        None => return Ok(()),
    };
    let theirs = Origin::parse(source);
    match (theirs, site()) {
        (Some(theirs), Some(ours)) if theirs == ours => Ok(()),
        (theirs, ours) => Err(CrossSite {
            from: theirs.map_or_else(|| source.to_string(), |o| o.to_string()),
            site: ours.map_or_else(|| "?".into(), |o| o.to_string()),
        }),
    }
}

/// A web origin: scheme, host and port, with the scheme's default port filled in.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an absolute URL (`Origin`, `Referer`); `None` for `null` or anything
    /// that is not an http(s) URL with a host.
    fn parse(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let Authority { host, port } = Authority::parse(authority)?;
        let port = port.unwrap_or(default_port);
        Some(Origin {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut req = Request::fake("POST", "/add/000007.html");
        req.headers.append("Host", "stocks.test:8080");
        for (n, v) in headers {
            req.headers.append(*n, *v);
        }
        req
    }

    #[test]
    fn the_source_of_a_post_decides_in_order() {
        let allowed: &[&[(&str, &str)]] = &[
            &[],
            &[("Sec-Fetch-Site", "same-origin")],
            &[("Sec-Fetch-Site", "none")],
            // Sec-Fetch-Site is believed first: a browser that says same-origin is.
            &[
                ("Sec-Fetch-Site", "same-origin"),
                ("Origin", "http://evil.example"),
            ],
            &[("Origin", "http://stocks.test:8080")],
            &[("Origin", "HTTP://Stocks.Test:8080")],
            &[("Referer", "http://stocks.test:8080/index.html?x=1")],
        ];
        for headers in allowed {
            assert_eq!(check_same_origin(&post(headers)), Ok(()), "{headers:?}");
        }
        let refused: &[&[(&str, &str)]] = &[
            &[("Sec-Fetch-Site", "cross-site")],
            &[("Sec-Fetch-Site", "same-site")],
            &[
                ("Sec-Fetch-Site", "cross-site"),
                ("Origin", "http://stocks.test:8080"),
            ],
            &[("Origin", "http://evil.example")],
            &[("Origin", "null")],
            &[("Origin", "https://stocks.test:8080")],
            &[("Origin", "http://stocks.test")],
            &[("Origin", "http://stocks.test:8081")],
            &[("Origin", "http://stocks.test.evil.example:8080")],
            &[("Origin", "http://user@stocks.test:8080")],
            &[("Referer", "http://evil.example/stocks.test:8080")],
            &[("Referer", "not a url")],
        ];
        for headers in refused {
            assert!(check_same_origin(&post(headers)).is_err(), "{headers:?}");
        }
    }

    #[test]
    fn a_refusal_names_both_origins() {
        let err = check_same_origin(&post(&[("Origin", "http://evil.example")])).unwrap_err();
        assert_eq!(err.from, "http://evil.example:80");
        assert_eq!(err.site, "http://stocks.test:8080");
    }

    #[test]
    fn default_ports_are_filled_in() {
        let mut req = Request::fake("POST", "/x.html");
        req.headers.append("Host", "stocks.test");
        req.headers.append("Origin", "http://stocks.test:80");
        assert_eq!(check_same_origin(&req), Ok(()));
        let mut req = Request::fake("POST", "/x.html");
        req.headers.append("Host", "[::1]:8080");
        req.headers.append("Origin", "http://[::1]:8080");
        assert_eq!(check_same_origin(&req), Ok(()));
    }
}
