//! What a client says it prefers: the weighted lists of `Accept` and `Accept-Encoding`
//! (RFC 9110, section 12.4.2) and the entity-tag lists of `If-Match` and `If-None-Match`.
//! The one q-value parser; the content codings (`crate::encoding`) use it too.

/// Whether an `If-Match`/`If-None-Match` list names `etag` (`*` names any). `weak` selects
/// the weak comparison of If-None-Match; If-Match uses the strong one.
pub fn etag_list_matches(list: &str, etag: &str, weak: bool) -> bool {
    list.split(',').map(str::trim).any(|candidate| {
        if candidate == "*" {
            return true;
        }
        match candidate.strip_prefix("W/") {
            Some(c) => weak && c == etag,
            None => candidate == etag,
        }
    })
}

/// A strong entity tag from a body's bytes (`"3f2a…-1c4"`: a hash and the length), for a
/// body held in memory: a built-in file, a cached page. The hash has fixed keys, so the same
/// bytes get the same tag in every process of the same binary, as a site served by several
/// processes needs.
pub fn strong_etag(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("\"{:016x}-{:x}\"", h.finish(), bytes.len())
}

/// The q-value an `Accept` header gives `media_type` (`text/html`), from its most specific
/// matching range (`text/html`, then `text/*`, then `*/*`); 0 when none names it. Without the
/// header, everything is acceptable: 1.
pub fn accept_quality(accept: Option<&str>, media_type: &str) -> f32 {
    let Some(accept) = accept else {
        return 1.0;
    };
    let (kind, sub) = media_type.split_once('/').unwrap_or((media_type, ""));
    let mut best = (0u8, 0.0f32); // (specificity, q)
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        let specificity = match range.split_once('/') {
            Some((k, s)) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) => 3,
            Some((k, "*")) if k.eq_ignore_ascii_case(kind) => 2,
            Some(("*", "*")) => 1,
            _ => continue,
        };
        let Some(q) = q_of(parts) else {
            continue; // a malformed q-value: ignore the item
        };
        if specificity > best.0 {
            best = (specificity, q);
        }
    }
    best.1
}

/// The q-value among an item's parameters (`q=0.5`); 1 when it has none, `None` when it is
/// malformed.
pub fn q_of<'a>(mut params: impl Iterator<Item = &'a str>) -> Option<f32> {
    params
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim().eq_ignore_ascii_case("q").then(|| v.trim())
        })
        .map_or(Some(1.0), parse_q)
}

/// A q-value: `0` to `1` with at most three decimals (RFC 9110, section 12.4.2).
fn parse_q(v: &str) -> Option<f32> {
    let ok = match v.split_once('.') {
        None => v == "0" || v == "1",
        Some(("0", d)) => d.len() <= 3 && d.bytes().all(|b| b.is_ascii_digit()),
        Some(("1", d)) => d.len() <= 3 && d.bytes().all(|b| b == b'0'),
        _ => false,
    };
    ok.then(|| v.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_lists_compare_weakly_or_strongly() {
        assert!(etag_list_matches("\"a\", \"b\"", "\"b\"", true));
        assert!(etag_list_matches("W/\"b\"", "\"b\"", true));
        assert!(!etag_list_matches("W/\"b\"", "\"b\"", false));
        assert!(etag_list_matches("*", "\"b\"", false));
        assert!(!etag_list_matches("\"c\"", "\"b\"", true));
    }

    #[test]
    fn accept_quality_takes_the_most_specific_range() {
        let browser = Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        assert_eq!(accept_quality(browser, "text/html"), 1.0);
        assert_eq!(accept_quality(browser, "application/json"), 0.8);
        assert_eq!(
            accept_quality(Some("text/*;q=0.3, text/csv"), "text/csv"),
            1.0
        );
        assert_eq!(
            accept_quality(Some("text/*;q=0.3, text/csv"), "text/html"),
            0.3
        );
        assert_eq!(accept_quality(Some("image/png"), "text/html"), 0.0);
        assert_eq!(
            accept_quality(Some("application/json;q=0"), "application/json"),
            0.0
        );
        assert_eq!(accept_quality(None, "text/csv"), 1.0);
    }

    #[test]
    fn a_malformed_q_value_drops_its_item() {
        assert_eq!(
            accept_quality(Some("text/html;q=2, */*;q=0.1"), "text/html"),
            0.1
        );
        assert_eq!(q_of(["q=0.500"].into_iter()), Some(0.5));
        assert_eq!(q_of(["level=1"].into_iter()), Some(1.0));
        for bad in ["q=0.5000", "q=1.5", "q=-0", "q=", "q=x"] {
            assert_eq!(q_of([bad].into_iter()), None, "{bad}");
        }
    }
}
