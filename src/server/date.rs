//! The `Date` header, formatted at most once a second per thread, and the access log's time.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// (the second it was formatted for, the IMF-fixdate of that second).
    static CACHE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Calls `f` with the current time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn with_now<R>(f: impl FnOnce(&str) -> R) -> R {
    let now = SystemTime::now();
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            *c = (secs, httpdate::fmt_http_date(now));
        }
        f(&c.1)
    })
}

/// An IMF-fixdate rewritten in the Common Log Format: `06/Nov/1994:08:49:37 +0000`.
pub fn clf(imf: &str) -> String {
    let parts: Vec<&str> = imf.split(' ').collect();
    match parts.as_slice() {
        [_, day, month, year, time, _] => format!("{day}/{month}/{year}:{time} +0000"),
        _ => imf.to_string(),
    }
}

/// `t` as RFC 3339 in UTC (`1994-11-06T08:49:37Z`), for JSON.
pub fn rfc3339(t: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let imf = httpdate::fmt_http_date(t);
    let parts: Vec<&str> = imf.split(' ').collect();
    match parts.as_slice() {
        [_, day, month, year, time, _] => {
            let m = MONTHS.iter().position(|x| x == month).map_or(0, |i| i + 1);
            format!("{year}-{m:02}-{day}T{time}Z")
        }
        _ => imf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_a_z() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(rfc3339(t), "1994-11-06T08:49:37Z");
    }

    #[test]
    fn clf_reorders_imf_fixdate() {
        assert_eq!(
            clf("Sun, 06 Nov 1994 08:49:37 GMT"),
            "06/Nov/1994:08:49:37 +0000"
        );
    }

    #[test]
    fn now_is_an_imf_fixdate() {
        let s = with_now(str::to_string);
        assert!(httpdate::parse_http_date(&s).is_ok(), "{s}");
    }
}
