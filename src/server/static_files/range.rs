//! `Range: bytes=...` for static files: the single byte range a request asks for, if any.

use crate::server::grammar::parse_digits;

/// The part of a representation a `Range` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ByteRange {
    /// No usable range: send everything with 200. Syntactically invalid ranges, other units
    /// and multiple ranges are ignored, as RFC 9110 allows.
    Full,
    /// Bytes `first..=last`, both within the representation.
    Part {
        /// The first byte.
        first: u64,
        /// The last byte, inclusive.
        last: u64,
    },
    /// A valid range that lies wholly outside the representation: 416.
    Unsatisfiable,
}

/// Parses a `Range` header for a representation of `len` bytes: `bytes=a-b`, `bytes=a-` or
/// `bytes=-n`.
pub(crate) fn parse_range(value: &str, len: u64) -> ByteRange {
    let value = value.trim();
    let Some((unit, spec)) = value.split_once('=') else {
        return ByteRange::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return ByteRange::Full;
    };
    // Overflow reads as u64::MAX, which means "past any end".
    let number = parse_digits;
    match (a.trim(), b.trim()) {
        ("", suffix) => match number(suffix) {
            None => ByteRange::Full,
            Some(0) => ByteRange::Unsatisfiable,
            Some(_) if len == 0 => ByteRange::Unsatisfiable,
            Some(n) => ByteRange::Part {
                first: len - n.min(len),
                last: len - 1,
            },
        },
        (first, "") => match number(first) {
            None => ByteRange::Full,
            Some(f) if f >= len => ByteRange::Unsatisfiable,
            Some(f) => ByteRange::Part {
                first: f,
                last: len - 1,
            },
        },
        (first, last) => match (number(first), number(last)) {
            (Some(f), Some(l)) if f <= l => {
                if f >= len {
                    ByteRange::Unsatisfiable
                } else {
                    ByteRange::Part {
                        first: f,
                        last: l.min(len - 1),
                    }
                }
            }
            _ => ByteRange::Full,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_table() {
        use ByteRange::*;
        let cases = [
            ("bytes=0-99", 1000, Part { first: 0, last: 99 }),
            ("bytes=0-0", 1000, Part { first: 0, last: 0 }),
            (
                "bytes=10-",
                1000,
                Part {
                    first: 10,
                    last: 999,
                },
            ),
            (
                "bytes=-100",
                1000,
                Part {
                    first: 900,
                    last: 999,
                },
            ),
            (
                "bytes=-5000",
                1000,
                Part {
                    first: 0,
                    last: 999,
                },
            ),
            (
                "bytes=900-5000",
                1000,
                Part {
                    first: 900,
                    last: 999,
                },
            ),
            (
                "bytes=999-999",
                1000,
                Part {
                    first: 999,
                    last: 999,
                },
            ),
            ("Bytes = 1-2", 1000, Part { first: 1, last: 2 }),
            ("bytes=1000-", 1000, Unsatisfiable),
            ("bytes=1000-2000", 1000, Unsatisfiable),
            ("bytes=-0", 1000, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-1", 0, Unsatisfiable),
            ("bytes=99999999999999999999999-", 10, Unsatisfiable),
            ("bytes=5-1", 1000, Full),
            ("bytes=0-1,5-6", 1000, Full),
            ("bytes=a-b", 1000, Full),
            ("bytes=-", 1000, Full),
            ("bytes=", 1000, Full),
            ("items=0-1", 1000, Full),
            ("0-1", 1000, Full),
            ("bytes=+1-2", 1000, Full),
        ];
        for (header, len, want) in cases {
            assert_eq!(parse_range(header, len), want, "{header} of {len}");
        }
    }
}
