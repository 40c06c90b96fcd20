//! Cookies (RFC 6265bis): reading the request's `Cookie` header, and building a `Set-Cookie`
//! that cannot inject a header or a second cookie.
//!
//! Reading is lenient, as browsers are: pairs are split at `;`, a pair with no `=` or no name
//! is skipped, and a malformed pair never hides the well-formed ones around it. Writing is
//! strict: a name must be a token and a value cookie-octets (no space, `"`, `,`, `;`, `\` or
//! control character), checked when the cookie is made, so a value from a client or a file
//! that would break the header is an error in the handler, never a header on the wire.

use std::fmt;
use std::time::{Duration, SystemTime};

/// The `name=value` pairs of `Cookie` header values, in order, with a value's surrounding
/// double quotes removed.
pub(crate) fn pairs<'a>(
    headers: impl Iterator<Item = &'a str>,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    headers
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| {
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            (name.trim(), value)
        })
        .filter(|(name, _)| !name.is_empty())
}

/// What makes a cookie impossible to send as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieError {
    /// The name is empty or not a token (RFC 9110): `(`, `=`, a space, a control character...
    Name(String),
    /// The value holds a byte a cookie value cannot carry (space, `"`, `,`, `;`, `\`, a
    /// control character, or anything beyond ASCII): encode it first (percent or base64).
    Value(String),
    /// An attribute (`Path`, `Domain`) holds `;` or a control character.
    Attribute(&'static str, String),
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieError::Name(n) => write!(f, "cookie name {n:?} is not a token"),
            CookieError::Value(v) => write!(
                f,
                "cookie value {v:?} holds a character a cookie cannot carry (encode it first)"
            ),
            CookieError::Attribute(a, v) => {
                write!(
                    f,
                    "cookie attribute {a}={v:?} holds `;` or a control character"
                )
            }
        }
    }
}

impl std::error::Error for CookieError {}

/// Whether a cookie goes with requests from other sites (`SameSite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Only with requests from this site.
    Strict,
    /// Also with top-level navigations from elsewhere (following a link): the usual choice.
    Lax,
    /// With every request; browsers then insist on `Secure`, which is added.
    None,
}

/// A cookie to set, with its attributes. Made with [`Cookie::new`], which checks the name
/// and the value; sent with [`crate::http::Response::with_cookie`].
///
/// ```
/// use miniweb::http::{Cookie, Response, SameSite};
/// use std::time::Duration;
///
/// let theme = Cookie::new("theme", "dark")?
///     .max_age(Duration::from_secs(3600))
///     .http_only()
///     .same_site(SameSite::Lax);
/// let resp = Response::text(200, "ok").with_cookie(&theme);
/// assert_eq!(
///     resp.headers.get("Set-Cookie"),
///     Some("theme=dark; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax")
/// );
/// assert!(Cookie::new("theme", "dark\r\nX-Evil: 1").is_err());
/// # Ok::<(), miniweb::http::CookieError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    name: String,
    value: String,
    path: String,
    domain: Option<String>,
    max_age: Option<Duration>,
    expires: Option<SystemTime>,
    http_only: bool,
    secure: bool,
    same_site: Option<SameSite>,
}

impl Cookie {
    /// A cookie for the whole site (`Path=/`) that lasts as long as the browser's session.
    pub fn new(name: &str, value: &str) -> Result<Cookie, CookieError> {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(CookieError::Name(name.to_string()));
        }
        if !value.bytes().all(is_cookie_octet) {
            return Err(CookieError::Value(value.to_string()));
        }
        Ok(Cookie {
            name: name.to_string(),
            value: value.to_string(),
            path: "/".to_string(),
            domain: None,
            max_age: None,
            expires: None,
            http_only: false,
            secure: false,
            same_site: None,
        })
    }

    /// What deletes the cookie `name` set with this path: an empty value that expired long ago.
    pub fn removal(name: &str) -> Result<Cookie, CookieError> {
        Ok(Cookie::new(name, "")?
            .max_age(Duration::ZERO)
            .expires(SystemTime::UNIX_EPOCH))
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Sent only under this path (default `/`).
    pub fn path(mut self, path: &str) -> Result<Cookie, CookieError> {
        check_attribute("Path", path)?;
        self.path = path.to_string();
        Ok(self)
    }

    /// Sent to this domain and its subdomains too (default: this host alone).
    pub fn domain(mut self, domain: &str) -> Result<Cookie, CookieError> {
        check_attribute("Domain", domain)?;
        self.domain = Some(domain.to_string());
        Ok(self)
    }

    /// Kept this long (`Max-Age`, which browsers prefer over `Expires`).
    pub fn max_age(mut self, age: Duration) -> Cookie {
        self.max_age = Some(age);
        self
    }

    /// Kept until then (`Expires`).
    pub fn expires(mut self, at: SystemTime) -> Cookie {
        self.expires = Some(at);
        self
    }

    /// Hidden from the page's scripts (`HttpOnly`).
    pub fn http_only(mut self) -> Cookie {
        self.http_only = true;
        self
    }

    /// Sent over HTTPS only (`Secure`).
    pub fn secure(mut self) -> Cookie {
        self.secure = true;
        self
    }

    /// Whether other sites' requests carry it.
    pub fn same_site(mut self, same_site: SameSite) -> Cookie {
        self.same_site = Some(same_site);
        if same_site == SameSite::None {
            self.secure = true;
        }
        self
    }

    /// The `Set-Cookie` header's value.
    pub fn header_value(&self) -> String {
        let mut out = format!("{}={}; Path={}", self.name, self.value, self.path);
        if let Some(domain) = &self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        if let Some(age) = self.max_age {
            out.push_str(&format!("; Max-Age={}", age.as_secs()));
        }
        if let Some(at) = self.expires {
            out.push_str("; Expires=");
            out.push_str(&httpdate::fmt_http_date(at));
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if self.secure {
            out.push_str("; Secure");
        }
        match self.same_site {
            Some(SameSite::Strict) => out.push_str("; SameSite=Strict"),
            Some(SameSite::Lax) => out.push_str("; SameSite=Lax"),
            Some(SameSite::None) => out.push_str("; SameSite=None"),
            None => {}
        }
        out
    }
}

fn check_attribute(name: &'static str, value: &str) -> Result<(), CookieError> {
    if value.bytes().any(|b| b == b';' || b.is_ascii_control()) {
        return Err(CookieError::Attribute(name, value.to_string()));
    }
    Ok(())
}

/// RFC 9110's tchar.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 6265's cookie-octet: visible ASCII but `"`, `,`, `;` and `\`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(header: &str) -> Vec<(&str, &str)> {
        pairs(std::iter::once(header)).collect()
    }

    #[test]
    fn pairs_are_read_leniently_and_a_bad_one_hides_nothing() {
        assert_eq!(read("a=1; b=2"), [("a", "1"), ("b", "2")]);
        assert_eq!(
            read("a=1;b=2;;  c = 3 "),
            [("a", "1"), ("b", "2"), ("c", "3")]
        );
        assert_eq!(
            read("lonely; a=1; =x; b=\"quoted\""),
            [("a", "1"), ("b", "quoted")]
        );
        assert_eq!(read("a=x=y"), [("a", "x=y")]);
        assert_eq!(read("\u{0}\u{1}garbage; ok=1"), [("ok", "1")]);
        assert_eq!(read(""), []);
        let two: Vec<_> = pairs(["a=1", "b=2"].into_iter()).collect();
        assert_eq!(two, [("a", "1"), ("b", "2")]);
    }

    #[test]
    fn names_and_values_that_could_break_the_header_are_refused() {
        for name in ["", "a b", "a=b", "a;b", "a\r\nb", "ä", "(x)"] {
            assert!(
                matches!(Cookie::new(name, "v"), Err(CookieError::Name(_))),
                "{name:?}"
            );
        }
        for value in [
            "a b",
            "a;b",
            "a,b",
            "\"q\"",
            "a\\b",
            "a\r\nSet-Cookie: x=1",
            "é",
            "\u{7f}",
        ] {
            assert!(
                matches!(Cookie::new("n", value), Err(CookieError::Value(_))),
                "{value:?}"
            );
        }
        assert!(Cookie::new("n", "ok").unwrap().path("/a;b").is_err());
        assert!(Cookie::new("n", "ok").unwrap().domain("x\nY: 1").is_err());
        assert!(Cookie::new("n", "").is_ok(), "an empty value is allowed");
    }

    #[test]
    fn attributes_are_written_in_order() {
        let c = Cookie::new("sid", "abc")
            .unwrap()
            .path("/app")
            .unwrap()
            .domain("example.com")
            .unwrap()
            .max_age(Duration::from_secs(60))
            .http_only()
            .same_site(SameSite::None);
        assert_eq!(
            c.header_value(),
            "sid=abc; Path=/app; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=None"
        );
        assert_eq!(
            Cookie::removal("sid").unwrap().header_value(),
            "sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }
}
