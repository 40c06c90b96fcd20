//! The request-target and `Host` of a head, checked as RFC 9112 requires before any body is
//! read: exactly one valid `Host` (at most one in HTTP/1.0), and a target that is a path.

use super::head::{Head, ReadError};
use crate::http::{decode_path, split_target, Authority, Version};

/// The request-target of a checked head, as the application sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// In origin form (`/path?query`), or `*`.
    pub target: String,
    /// The path, percent-decoded.
    pub path: String,
}

/// Checks what RFC 9112 requires of a head before any body is read: exactly one `Host` in
/// HTTP/1.1 (at most one in 1.0), a valid authority in it and in an absolute-form target, and
/// a target that is a path. An absolute-form target's authority replaces `Host`, which the
/// server must then ignore (RFC 9112, section 3.2.2).
pub(crate) fn check(head: &mut Head) -> Result<Target, ReadError> {
    let host_ok = {
        let mut hosts = head.headers.get_all("Host");
        let host_ok = hosts.next().map(|h| Authority::parse(h.trim()).is_some());
        if hosts.next().is_some() {
            return Err(ReadError::Reject(400, "repeated Host"));
        }
        host_ok
    };
    match host_ok {
        None if head.version == Version::Http11 => {
            return Err(ReadError::Reject(400, "missing Host"))
        }
        Some(false) => return Err(ReadError::Reject(400, "invalid Host")),
        _ => {}
    }
    let (target, authority) = origin_form(head)?;
    if let Some(authority) = authority {
        head.headers.set("Host", authority);
    }
    let path = decode_path(split_target(&target).0)
        .map_err(|_| ReadError::Reject(400, "path is not UTF-8"))?;
    Ok(Target { target, path })
}

/// The target as a path, with the authority when it came in absolute form: origin form as
/// sent, `*` for `OPTIONS *`, or the parts of `http://host/path`, which servers must accept
/// (RFC 9112, section 3.2.2).
fn origin_form(head: &Head) -> Result<(String, Option<String>), ReadError> {
    let t = head.target.as_str();
    if t.starts_with('/') || (t == "*" && head.method == "OPTIONS") {
        return Ok((t.to_string(), None));
    }
    let lower = t.to_ascii_lowercase();
    for scheme in ["http://", "https://"] {
        if lower.starts_with(scheme) {
            let rest = &t[scheme.len()..];
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            let authority = &rest[..end];
            if Authority::parse(authority).is_none() {
                return Err(ReadError::Reject(400, "invalid authority in the target"));
            }
            let path = match &rest[end..] {
                "" => "/".to_string(),
                p if p.starts_with('/') => p.to_string(),
                q => format!("/{q}"),
            };
            return Ok((path, Some(authority.to_string())));
        }
    }
    Err(ReadError::Reject(400, "request target is not a path"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Headers;

    fn checked(
        target: &str,
        hosts: &[&str],
        version: Version,
    ) -> Result<(Target, Head), ReadError> {
        let mut headers = Headers::new();
        for h in hosts {
            headers.append("Host", *h);
        }
        let mut head = Head {
            method: "GET".into(),
            target: target.into(),
            version,
            headers,
        };
        check(&mut head).map(|t| (t, head))
    }

    #[test]
    fn host_must_be_one_valid_authority() {
        use Version::*;
        let rejected: &[(&str, &[&str], Version)] = &[
            ("/", &[], Http11),
            ("/", &["a", "b"], Http11),
            ("/", &["a", "a"], Http10),
            ("/", &["a b"], Http11),
            ("/", &["exa/mple"], Http11),
            ("/", &["x:y"], Http11),
            ("http://a b/x", &["t"], Http11),
            ("http:///x", &["t"], Http11),
            ("http://u@h/x", &["t"], Http11),
            ("nohost", &["t"], Http11),
            ("*", &["t"], Http11),
        ];
        for (target, hosts, version) in rejected {
            assert!(
                matches!(
                    checked(target, hosts, *version),
                    Err(ReadError::Reject(400, _))
                ),
                "{target} {hosts:?}"
            );
        }
        assert!(checked("/", &[], Http10).is_ok());
        assert!(checked("/", &["[::1]:8080"], Http11).is_ok());
        let (t, head) = checked("http://real.example:81/p%20q?x=1", &["other"], Http11).unwrap();
        assert_eq!(t.target, "/p%20q?x=1");
        assert_eq!(t.path, "/p q");
        assert_eq!(head.headers.get("Host"), Some("real.example:81"));
        let (t, _) = checked("https://h?q", &["h"], Http11).unwrap();
        assert_eq!(t.target, "/?q");
    }
}
