//! Signed sessions, as Flask's `session`: a small map that survives between requests in a
//! cookie the server signs with HMAC-SHA256, so the client can read it but not change it.
//!
//! The contents are **signed, not encrypted**: anyone holding the cookie can read them
//! (they are base64 JSON). Keep a user's id there, never a password or a secret.
//!
//! This is the course's 验证客户端合法性 done properly (`course/examples/hmac_auth.rs` shows
//! the challenge and the answer): the server proves, on every request, that the cookie is
//! one it issued, because only a holder of the key can compute the tag. The tag is compared
//! in constant time (`Mac::verify_slice`), so its bytes cannot be guessed one by one from
//! timings.
//!
//! The cookie is `PAYLOAD.ISSUED.TAG`: the map as JSON in base64url, the second it was
//! issued, and the HMAC of both under the first key. Several keys rotate: the first signs,
//! every one verifies, so a new key can be put first while cookies signed with the old one
//! still count. A cookie that was tampered with, truncated, signed with an unknown key or
//! issued longer ago than `max_age` is an empty session, with a line in the debug log;
//! never an error page.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use super::error::Error;
use crate::http::{Cookie, Request, SameSite};

/// The session cookie's name.
pub const COOKIE: &str = "miniweb_session";

/// Browsers keep about 4 KB of a cookie; a session beyond this is refused when it is saved.
const MAX_COOKIE_BYTES: usize = 4000;

/// What the tag covers before the cookie's text: a key used for sessions signs nothing else.
const PURPOSE: &[u8] = b"miniweb session v1\0";

/// A request's session: read from its cookie, changed by the handler, saved on the response
/// when it changed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Session {
    data: Map<String, Value>,
    changed: bool,
}

impl Session {
    /// The value under `key`, if there is one of type `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.data
            .get(key)
            .and_then(|v| T::deserialize(v.clone()).ok())
    }

    /// Keeps `value` under `key`.
    pub fn insert(&mut self, key: &str, value: impl Serialize) -> Result<(), Error> {
        let value = serde_json::to_value(value)
            .map_err(|e| Error::Internal(format!("session value for {key:?}: {e}")))?;
        self.data.insert(key.to_string(), value);
        self.changed = true;
        Ok(())
    }

    /// Takes the value under `key` out.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let taken = self.data.remove(key);
        self.changed |= taken.is_some();
        taken
    }

    /// Empties the session (logging out): the response deletes the cookie.
    pub fn clear(&mut self) {
        self.changed |= !self.data.is_empty();
        self.data.clear();
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Whether the handler changed it, so that the response must carry it.
    pub(crate) fn changed(&self) -> bool {
        self.changed
    }
}

/// The keys sessions are signed with, and how long a cookie stays good.
#[derive(Clone)]
pub(crate) struct Signer {
    /// The first signs; every one verifies.
    keys: Vec<Vec<u8>>,
    max_age: Duration,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        write!(
            f,
            "Signer({} key(s), max_age {:?})",
            self.keys.len(),
            self.max_age
        )
    }
}

impl Signer {
    /// A signer with `keys` (the first signs); `None` without any.
    pub fn new(keys: &[String], max_age: Duration) -> Option<Signer> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        (!keys.is_empty()).then_some(Signer { keys, max_age })
    }

    /// A signer with one random key, for dev mode without `secret_key`: sessions last until
    /// the process ends.
    pub fn random(max_age: Duration) -> Result<Signer, getrandom::Error> {
        let mut key = vec![0u8; 32];
        getrandom::getrandom(&mut key)?;
        Ok(Signer {
            keys: vec![key],
            max_age,
        })
    }

    /// The session `req`'s cookie holds, or an empty one.
    pub fn open(&self, req: &Request) -> Session {
        let Some(text) = req.cookie(COOKIE) else {
            return Session::default();
        };
        match self.verify(text, SystemTime::now()) {
            Ok(data) => Session {
                data,
                changed: false,
            },
            Err(why) => {
                log::debug!(
                    "{} {}: session cookie ignored: {why}",
                    req.method,
                    req.target
                );
                Session::default()
            }
        }
    }

    /// The cookie that carries `session` from `now` (a removal when it is empty). `secure`
    /// for a site served over HTTPS.
    pub fn seal(&self, session: &Session, now: SystemTime, secure: bool) -> Result<Cookie, Error> {
        let cookie = if session.is_empty() {
            Cookie::removal(COOKIE)
        } else {
            let json = serde_json::to_vec(&session.data)
                .map_err(|e| Error::Internal(format!("session: {e}")))?;
            let issued = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
            let body = format!("{}.{issued}", URL_SAFE_NO_PAD.encode(json));
            let tag =
                URL_SAFE_NO_PAD.encode(self.tag(&self.keys[0], &body).finalize().into_bytes());
            let text = format!("{body}.{tag}");
            if text.len() > MAX_COOKIE_BYTES {
                return Err(Error::Internal(format!(
                    "the session is {} bytes signed, over the {MAX_COOKIE_BYTES} a browser keeps: \
                     keep an id in it, and the rest in the database",
                    text.len()
                )));
            }
            Cookie::new(COOKIE, &text).map(|c| c.max_age(self.max_age))
        };
        let cookie = cookie
            .map_err(|e| Error::Internal(format!("session cookie: {e}")))?
            .http_only()
            .same_site(SameSite::Lax);
        Ok(if secure { cookie.secure() } else { cookie })
    }

    /// The map `text` carries, if one of the keys signed it and it is not older than
    /// `max_age` at `now`; else why not.
    fn verify(&self, text: &str, now: SystemTime) -> Result<Map<String, Value>, &'static str> {
        let (body, tag) = text.rsplit_once('.').ok_or("no tag")?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| "a tag that is not base64")?;
        // Constant time: `verify_slice` compares every byte whatever the first wrong one.
        let signed = self
            .keys
            .iter()
            .any(|key| self.tag(key, body).verify_slice(&tag).is_ok());
        if !signed {
            return Err("not signed with a key of ours (forged, truncated, or an old key)");
        }
        let (payload, issued) = body.split_once('.').ok_or("no issue time")?;
        let issued: u64 = issued.parse().map_err(|_| "a bad issue time")?;
        let age = now
            .duration_since(UNIX_EPOCH + Duration::from_secs(issued))
            .unwrap_or_default();
        if age > self.max_age {
            return Err("expired");
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| "a payload that is not base64")?;
        serde_json::from_slice(&json).map_err(|_| "a payload that is not a JSON object")
    }

    fn tag(&self, key: &[u8], body: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(PURPOSE);
        mac.update(body.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn signer(keys: &[&str]) -> Signer {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        Signer::new(&keys, DAY).unwrap()
    }

    fn sealed(signer: &Signer, user: &str, at: SystemTime) -> String {
        let mut s = Session::default();
        s.insert("user", user).unwrap();
        let cookie = signer.seal(&s, at, false).unwrap();
        cookie.value().to_string()
    }

    fn opened(signer: &Signer, value: &str) -> Session {
        let mut req = Request::fake("GET", "/");
        req.headers.append("Cookie", format!("{COOKIE}={value}"));
        signer.open(&req)
    }

    #[test]
    fn a_sealed_session_opens_again_with_its_values() {
        let s = signer(&["k1"]);
        let value = sealed(&s, "ann", SystemTime::now());
        let back = opened(&s, &value);
        assert_eq!(back.get::<String>("user").as_deref(), Some("ann"));
        assert!(!back.changed());
        assert_eq!(back.get::<u32>("user"), None, "another type is none");
    }

    #[test]
    fn forged_truncated_and_expired_cookies_are_empty_sessions() {
        let s = signer(&["k1"]);
        let now = SystemTime::now();
        let good = sealed(&s, "ann", now);
        // Someone rewrites the payload to say "admin", keeping the tag.
        let (_, rest) = good.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"user":"admin"}"#);
        let forged = format!("{forged_payload}.{rest}");
        let other_key = sealed(&signer(&["not ours"]), "ann", now);
        let old = sealed(&s, "ann", now - 2 * DAY);
        for bad in [
            forged.as_str(),
            &good[..good.len() - 3],
            &good[..10],
            other_key.as_str(),
            old.as_str(),
            "",
            "...",
            "a.b.c",
        ] {
            assert!(opened(&s, bad).is_empty(), "{bad:?}");
        }
        assert!(!opened(&s, &good).is_empty());
    }

    #[test]
    fn an_old_key_still_verifies_while_the_new_one_signs() {
        let before = signer(&["old"]);
        let value = sealed(&before, "ann", SystemTime::now());
        let rotated = signer(&["new", "old"]);
        assert_eq!(
            opened(&rotated, &value).get::<String>("user").as_deref(),
            Some("ann")
        );
        // What the rotated signer issues, the old one alone no longer reads.
        let fresh = sealed(&rotated, "bob", SystemTime::now());
        assert!(opened(&before, &fresh).is_empty());
        assert!(!opened(&signer(&["new"]), &fresh).is_empty());
    }

    #[test]
    fn an_empty_session_deletes_the_cookie_and_a_big_one_is_refused() {
        let s = signer(&["k"]);
        let mut session = Session::default();
        session.insert("a", 1).unwrap();
        session.clear();
        assert!(session.changed());
        let gone = s
            .seal(&session, SystemTime::now(), true)
            .unwrap()
            .header_value();
        assert!(
            gone.starts_with("miniweb_session=; ") && gone.contains("Max-Age=0"),
            "{gone}"
        );
        assert!(
            gone.contains("Secure") && gone.contains("HttpOnly"),
            "{gone}"
        );
        let mut big = Session::default();
        big.insert("blob", "x".repeat(5000)).unwrap();
        assert!(s.seal(&big, SystemTime::now(), false).is_err());
    }
}
