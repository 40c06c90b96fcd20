//! An authority, `host[:port]` (RFC 3986, section 3.2; RFC 9112, section 3.2): the one parser
//! of it, for `Host`, an absolute-form target, `Origin` and `Referer`, the HTTPS redirect, a
//! proxy's `Forwarded` node, the configured `public_origin` and `cors_origins`.

/// `origin` if it is a web origin, `http://` or `https://` then an authority and nothing
/// after (as a browser's `Origin` header says it), lower-cased; `Err` says what is wrong.
pub fn web_origin(origin: &str) -> Result<String, String> {
    let lower = origin.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .ok_or_else(|| format!("must start with http:// or https://, got {origin:?}"))?;
    if Authority::parse(rest).is_none() {
        return Err(format!(
            "must be a scheme and a host, with a port if any and no path, got {origin:?}"
        ));
    }
    Ok(lower)
}

/// A valid authority, split: `example.com:8080`, `[::1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authority<'a> {
    /// As written: a registered name or IPv4 address, or an IP literal with its brackets
    /// (`[::1]`), so that it can be put back into a URL.
    pub host: &'a str,
    /// The port, when one is given (`host:` with nothing after the colon gives none).
    pub port: Option<u16>,
}

impl<'a> Authority<'a> {
    /// `s` split into host and port, if it is an authority: a registered name or IPv4
    /// address, or an IP literal in brackets, then an optional port up to 65535. User
    /// information (`user@host`) and an empty host (`Host: `, `Host: :80`: RFC 9110,
    /// section 4.2.1) are not allowed.
    pub fn parse(s: &'a str) -> Option<Authority<'a>> {
        let (host, port) = match s.strip_prefix('[') {
            Some(rest) => {
                let (literal, after) = rest.split_once(']')?;
                if !valid_ip_literal(literal) {
                    return None;
                }
                let port = match after {
                    "" => None,
                    a => Some(a.strip_prefix(':')?),
                };
                (&s[..literal.len() + 2], port)
            }
            None => {
                let (host, port) = match s.split_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (s, None),
                };
                if host.is_empty() || !valid_reg_name(host) {
                    return None;
                }
                (host, port)
            }
        };
        let port = match port {
            None | Some("") => None,
            Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse().ok()?)
            }
            Some(_) => return None,
        };
        Some(Authority { host, port })
    }

    /// The host without the brackets of an IP literal: `::1` for `[::1]`.
    pub fn bare_host(&self) -> &'a str {
        self.host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(self.host)
    }
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`, which also covers IPv4 addresses.
fn valid_reg_name(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
                continue;
            }
            c if c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&c) => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// An IPv6 address, or `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`.
fn valid_ip_literal(s: &str) -> bool {
    if s.parse::<std::net::Ipv6Addr>().is_ok() {
        return true;
    }
    let Some(rest) = s.strip_prefix(['v', 'V']) else {
        return false;
    };
    let Some((version, addr)) = rest.split_once('.') else {
        return false;
    };
    !version.is_empty()
        && version.bytes().all(|b| b.is_ascii_hexdigit())
        && !addr.is_empty()
        && addr
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_origins_are_a_scheme_and_an_authority_only() {
        assert_eq!(
            web_origin("HTTPS://Stocks.Example:8443"),
            Ok("https://stocks.example:8443".into())
        );
        for bad in ["stocks.example", "ftp://a", "https://a/path", "https://"] {
            assert!(web_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn authorities_follow_the_uri_grammar() {
        let good = [
            "example.com",
            "example.com:8080",
            "EXAMPLE.com:",
            "127.0.0.1",
            "127.0.0.1:80",
            "[::1]",
            "[::1]:8080",
            "[2001:db8::7]",
            "[v1.fe:80]",
            "xn--fiqs8s.example",
            "a-b_c~d.e",
            "%41bc",
        ];
        for a in good {
            assert!(Authority::parse(a).is_some(), "{a:?} should be valid");
        }
        let bad = [
            "a b",
            "exa/mple",
            "exa\x01mple",
            "exa\tmple",
            "host:abc",
            "host:80x",
            "host:123456",
            "host:65536",
            "host:80:81",
            "user@host",
            "",
            ":80",
            "[::1",
            "::1",
            "[zz]",
            "[::1]x",
            "[::1]:8a",
            "%4",
            "%zz",
            "ex\"ample",
            "例子.com",
        ];
        for a in bad {
            assert!(Authority::parse(a).is_none(), "{a:?} should be invalid");
        }
    }

    #[test]
    fn an_authority_splits_into_host_and_port() {
        let split = |s| Authority::parse(s).map(|a| (a.host, a.bare_host(), a.port));
        assert_eq!(
            split("example.com:8080"),
            Some(("example.com", "example.com", Some(8080)))
        );
        assert_eq!(split("[::1]:80"), Some(("[::1]", "::1", Some(80))));
        assert_eq!(split("[::1]"), Some(("[::1]", "::1", None)));
        assert_eq!(split("h:"), Some(("h", "h", None)));
    }
}
