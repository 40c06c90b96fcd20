//! The pieces of HTTP's grammar the server checks by hand: an authority (`host[:port]`,
//! RFC 3986), a token (RFC 9110), a number of digits.

/// Whether `s` is `uri-host [ ":" port ]` (RFC 9112 section 3.2, RFC 3986 section 3.2.2): a
/// registered name or IPv4 address, or an IP literal in brackets, then an optional port of at
/// most five digits. User information (`user@host`) is not allowed.
pub(crate) fn valid_authority(s: &str) -> bool {
    let (host_ok, port) = match s.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((literal, after)) => (
                valid_ip_literal(literal),
                match after {
                    "" => None,
                    a => match a.strip_prefix(':') {
                        Some(p) => Some(p),
                        None => return false,
                    },
                },
            ),
            None => return false,
        },
        None => match s.split_once(':') {
            Some((host, port)) => (valid_reg_name(host), Some(port)),
            None => (valid_reg_name(s), None),
        },
    };
    // An empty host (`Host: `, `Host: :80`) is no authority: RFC 9110, section 4.2.1.
    let host_ok = host_ok && !s.is_empty() && !s.starts_with(':');
    host_ok && port.is_none_or(|p| p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
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

/// Whether `s` is an RFC 9110 token (`1*tchar`), as a method or field name must be.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// `tchar`: the bytes a token is made of.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A decimal number of digits only (no sign, no space); one too large for a `u64` is
/// `u64::MAX`, which every limit refuses. `None` when empty or not all digits.
pub(crate) fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits: the only way to fail is overflow.
    Some(s.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(valid_authority(a), "{a:?} should be valid");
        }
        let bad = [
            "a b",
            "exa/mple",
            "exa\x01mple",
            "exa\tmple",
            "host:abc",
            "host:80x",
            "host:123456",
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
            assert!(!valid_authority(a), "{a:?} should be invalid");
        }
    }

    #[test]
    fn content_length_is_digits_only() {
        assert_eq!(parse_digits("0"), Some(0));
        assert_eq!(parse_digits("0012"), Some(12));
        assert_eq!(parse_digits("99999999999999999999999"), Some(u64::MAX));
        for bad in ["", " 1", "1 ", "+1", "-1", "1e3", "0x10", "1_0"] {
            assert_eq!(parse_digits(bad), None, "{bad:?}");
        }
    }
}
