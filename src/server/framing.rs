//! How the body of a request is delimited (RFC 9112, section 6.3), worked out from its head,
//! with every kind of faulty framing refused before a byte of the body is read.

use super::grammar::parse_digits;
use super::head::{Head, ReadError};
use crate::http::Version;

/// How the body of a request is delimited (RFC 9112, section 6.3).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// Works out the body framing from the head, refusing what RFC 9112 calls faulty framing.
pub(crate) fn framing(head: &Head) -> Result<Framing, ReadError> {
    let has_te = head.headers.contains("Transfer-Encoding");
    let lengths: Vec<&str> = head
        .headers
        .get_all("Content-Length")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if has_te {
        if !lengths.is_empty() {
            return Err(ReadError::Reject(
                400,
                "both Transfer-Encoding and Content-Length",
            ));
        }
        if head.version == Version::Http10 {
            return Err(ReadError::Reject(400, "Transfer-Encoding in HTTP/1.0"));
        }
        let codings: Vec<&str> = head
            .headers
            .get_all("Transfer-Encoding")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        // RFC 9112, section 6.3: unless chunked comes last (and once), the body's length
        // cannot be known, which is a 400 and a close; a coding we do not know is a 501.
        let chunked = |c: &&str| c.eq_ignore_ascii_case("chunked");
        return match codings.as_slice() {
            [only] if chunked(only) => Ok(Framing::Chunked),
            [.., last] if !chunked(last) => Err(ReadError::Reject(
                400,
                "chunked is not the last transfer coding",
            )),
            [first @ .., _] if first.iter().any(chunked) => {
                Err(ReadError::Reject(400, "chunked applied more than once"))
            }
            _ => Err(ReadError::Reject(501, "unsupported transfer coding")),
        };
    }
    let Some(first) = lengths.first() else {
        return Ok(Framing::None);
    };
    if lengths.iter().any(|l| l != first) {
        return Err(ReadError::Reject(400, "conflicting Content-Length values"));
    }
    match parse_digits(first) {
        Some(n) => Ok(Framing::Length(n)),
        None => Err(ReadError::Reject(400, "invalid Content-Length")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::head::head_with;

    #[test]
    fn framing_table() {
        use Framing::*;
        let ok: &[(&[(&str, &str)], Framing)] = &[
            (&[], None),
            (&[("Content-Length", "10")], Length(10)),
            (
                &[("Content-Length", "10"), ("Content-Length", "10")],
                Length(10),
            ),
            (&[("Content-Length", "7, 7")], Length(7)),
            (&[("Transfer-Encoding", "chunked")], Chunked),
            (&[("Transfer-Encoding", "Chunked")], Chunked),
            (
                &[("Content-Length", "99999999999999999999999")],
                Length(u64::MAX),
            ),
        ];
        for (fields, want) in ok {
            assert_eq!(&framing(&head_with(fields, Version::Http11)).unwrap(), want);
        }
        let bad: &[(&[(&str, &str)], u16)] = &[
            (&[("Content-Length", "10"), ("Content-Length", "11")], 400),
            (&[("Content-Length", "-1")], 400),
            (&[("Content-Length", "")], 400),
            (&[("Content-Length", "1e3")], 400),
            (
                &[("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
                400,
            ),
            (&[("Transfer-Encoding", "gzip")], 400),
            (&[("Transfer-Encoding", "chunked, gzip")], 400),
            (&[("Transfer-Encoding", "gzip, chunked")], 501),
            (&[("Transfer-Encoding", "chunked, chunked")], 400),
        ];
        for (fields, status) in bad {
            match framing(&head_with(fields, Version::Http11)) {
                Err(ReadError::Reject(s, _)) => assert_eq!(s, *status, "{fields:?}"),
                other => panic!("{fields:?} gave {other:?}"),
            }
        }
        assert!(framing(&head_with(
            &[("Transfer-Encoding", "chunked")],
            Version::Http10
        ))
        .is_err());
    }
}
