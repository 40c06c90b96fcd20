//! `application/x-www-form-urlencoded`, the text of a query string and of a posted form:
//! `name=value` pairs between `&`, `+` for a space, `%XX` for a byte, UTF-8 once decoded. The
//! one decoder of it, for the framework's forms and the server's listing and archive options.

use std::str::Utf8Error;

use percent_encoding::percent_decode;

/// The pairs of `raw`, decoded, in order (a pair without `=` has an empty value, an empty
/// one is skipped); `Err` if a name or value is not UTF-8 once decoded.
pub(crate) fn decode_pairs(raw: &[u8]) -> Result<Vec<(String, String)>, Utf8Error> {
    raw.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

fn decode(raw: &[u8]) -> Result<String, Utf8Error> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    Ok(percent_decode(&spaced).decode_utf8()?.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_in_order_and_bad_utf8_is_an_error() {
        let pairs = decode_pairs(b"note=%E5%88%A9+a%2Bb&&empty=&flag&sort=size").unwrap();
        let want = [
            ("note", "利 a+b"),
            ("empty", ""),
            ("flag", ""),
            ("sort", "size"),
        ];
        let got: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, want);
        assert!(decode_pairs(b"a=%FF").is_err());
    }
}
