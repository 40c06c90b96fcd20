//! The pieces of HTTP's grammar the server checks by hand: a token (RFC 9110), a field value
//! safe to write, and a number of digits. An authority (`host[:port]`) is `crate::http::Authority`, which both sides use.

/// Whether `s` is an RFC 9110 token (`1*tchar`), as a method or field name must be.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Whether `s` can be written as a field value: no CR, LF or NUL, which would end the line
/// early or let a value smuggle in a header of its own.
pub(crate) fn is_safe_value(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
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
    fn content_length_is_digits_only() {
        assert_eq!(parse_digits("0"), Some(0));
        assert_eq!(parse_digits("0012"), Some(12));
        assert_eq!(parse_digits("99999999999999999999999"), Some(u64::MAX));
        for bad in ["", " 1", "1 ", "+1", "-1", "1e3", "0x10", "1_0"] {
            assert_eq!(parse_digits(bad), None, "{bad:?}");
        }
    }
}
