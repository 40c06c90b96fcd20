//! HTTP Basic authentication (RFC 7617) for the whole server or the paths under a prefix:
//! `--auth-file FILE` or `auth_file`, a file of `user:hash` lines as `htpasswd -B` writes
//! them (`miniweb --hash-password` makes one too). Only bcrypt hashes are taken: a file of
//! plain passwords is refused at start-up.
//!
//! bcrypt is slow on purpose (tens of milliseconds), and a browser sends the credentials with
//! every request: a pair that was verified once is remembered, as its HMAC-SHA256 under a key
//! drawn at start-up (never the password), so that the next requests cost a hash. Each
//! request is judged once, from its head (a `Verdict`), before its body is read: the upload
//! limit depends on it, and a wrong password costs one bcrypt, not one per look. An unknown
//! user is checked against a hash of the same cost, so that the time of a failure does not
//! tell which users exist. The log names the user and why, never the password.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::static_files::path::clean as clean_path;
use crate::http::Headers;
use crate::sync::Unpoisoned;

/// Verified pairs remembered at most; past this the memory starts afresh.
const REMEMBERED: usize = 4096;

/// `WWW-Authenticate` of a 401: what the browser's prompt names.
pub(crate) const CHALLENGE: &str = "Basic realm=\"miniweb\", charset=\"UTF-8\"";

/// Who may come in, and where they must say who they are.
#[derive(Debug)]
pub struct BasicAuth {
    /// (user, bcrypt hash).
    users: Vec<(String, String)>,
    /// The paths that need it, as a clean path has it (`private/docs`, no slash at either
    /// end): this one and those under it; empty for all.
    under: String,
    /// A hash of the users' cost for a name nobody has.
    decoy: String,
    /// Pairs verified already, as keyed hashes.
    verified: Mutex<HashSet<[u8; 32]>>,
    /// The key of those hashes, drawn at start-up.
    key: [u8; 32],
}

/// What basic auth makes of one request, judged once from its head.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The request needs no user (its path is not covered, and it is no upload that needs one).
    Open,
    /// It names a user, with that user's password.
    SignedIn,
    /// It needs a user and names none rightly.
    Refused(Refusal),
}

/// Why a request was not let in.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No `Authorization: Basic` at all: the browser has not asked its user yet.
    NoCredentials,
    /// A header that is not `Basic base64(user:password)`.
    Malformed,
    /// A user the file does not have.
    UnknownUser(String),
    /// The user's password is not this one.
    WrongPassword(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NoCredentials => f.write_str("no credentials"),
            Refusal::Malformed => f.write_str("a malformed Authorization header"),
            Refusal::UnknownUser(u) => write!(f, "unknown user {u:?}"),
            Refusal::WrongPassword(u) => write!(f, "wrong password for {u:?}"),
        }
    }
}

impl PartialEq for BasicAuth {
    fn eq(&self, other: &BasicAuth) -> bool {
        self.users == other.users && self.under == other.under
    }
}

impl Eq for BasicAuth {}

impl BasicAuth {
    /// The users of `text` (`user:hash` lines; `#` comments and blank lines skipped), for the
    /// paths under `prefix`. `Err` names the line at fault.
    pub fn parse(text: &str, prefix: &str) -> Result<BasicAuth, String> {
        let mut users = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = n + 1;
            users.push(user_line(line).map_err(|e| format!("line {at}: {e}"))?);
        }
        BasicAuth::new(users, prefix)
    }

    /// The users of the file at `path`, for the paths under `prefix`.
    pub fn read(path: &Path, prefix: &str) -> Result<BasicAuth, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        BasicAuth::parse(&text, prefix).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn new(users: Vec<(String, String)>, prefix: &str) -> Result<BasicAuth, String> {
        let Some((_, first)) = users.first() else {
            return Err("no users".into());
        };
        if !prefix.starts_with('/') {
            return Err(format!("the path {prefix:?} must start with /"));
        }
        let cost = first
            .get(4..6)
            .and_then(|c| c.parse::<u32>().ok())
            .unwrap_or(bcrypt::DEFAULT_COST);
        let decoy = bcrypt::hash("not anyone's password", cost).map_err(|e| e.to_string())?;
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|e| format!("no randomness: {e}"))?;
        Ok(BasicAuth {
            users,
            under: prefix.trim_matches('/').to_string(),
            decoy,
            verified: Mutex::new(HashSet::new()),
            key,
        })
    }

    /// For the start-up line.
    pub fn describe(&self) -> String {
        match self.under.as_str() {
            "" => format!("{} user(s), on /", self.users.len()),
            under => format!("{} user(s), on /{under}/", self.users.len()),
        }
    }

    /// Whether `raw_path` needs credentials. A path that does not resolve to a clean one
    /// (hostile, or climbing above the root) needs them too: when in doubt, ask.
    pub(crate) fn covers(&self, raw_path: &str) -> bool {
        if self.under.is_empty() {
            return true;
        }
        match clean_path(raw_path) {
            Some((key, _)) => key
                .strip_prefix(&self.under)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            None => true,
        }
    }

    /// The verdict on a request for `raw_path` with `headers`, which `needs_user` (an upload
    /// that must be signed in) even outside the covered paths.
    pub(crate) fn judge(&self, raw_path: &str, headers: &Headers, needs_user: bool) -> Verdict {
        if !needs_user && !self.covers(raw_path) {
            return Verdict::Open;
        }
        match self.check_header(headers.get("Authorization")) {
            Ok(_) => Verdict::SignedIn,
            Err(why) => Verdict::Refused(why),
        }
    }

    /// The user of an `Authorization` header, or why not.
    pub(crate) fn check_header(&self, header: Option<&str>) -> Result<String, Refusal> {
        let header = header.ok_or(Refusal::NoCredentials)?.trim();
        let (scheme, token) = header.split_once(' ').ok_or(Refusal::Malformed)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(Refusal::Malformed);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| Refusal::Malformed)?;
        let text = String::from_utf8(decoded).map_err(|_| Refusal::Malformed)?;
        let (user, password) = text.split_once(':').ok_or(Refusal::Malformed)?;
        let remembered = self.remembered(user, password);
        if self.verified.lock().unpoisoned().contains(&remembered) {
            return Ok(user.to_string());
        }
        let known = self.users.iter().find(|(u, _)| u == user);
        let hash = known.map_or(self.decoy.as_str(), |(_, h)| h.as_str());
        let matches = bcrypt::verify(password, hash).unwrap_or(false);
        match (known, matches) {
            (Some(_), true) => {
                let mut verified = self.verified.lock().unpoisoned();
                if verified.len() >= REMEMBERED {
                    verified.clear();
                }
                verified.insert(remembered);
                Ok(user.to_string())
            }
            (Some(_), false) => Err(Refusal::WrongPassword(user.to_string())),
            (None, _) => Err(Refusal::UnknownUser(user.to_string())),
        }
    }

    fn remembered(&self, user: &str, password: &str) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        // The user's length first, so that ("ab", "c") and ("a", "bc") differ.
        mac.update(&(user.len() as u64).to_le_bytes());
        mac.update(user.as_bytes());
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// One `user:hash` line, checked.
fn user_line(line: &str) -> Result<(String, String), String> {
    let (user, hash) = line
        .split_once(':')
        .ok_or("write each user as user:hash (htpasswd -B, or miniweb --hash-password)")?;
    if user.is_empty() {
        return Err("a user without a name".into());
    }
    let bcrypt_like = ["$2a$", "$2b$", "$2x$", "$2y$"]
        .iter()
        .any(|p| hash.starts_with(p))
        && hash.len() == 60;
    if !bcrypt_like {
        return Err(format!(
            "the password of {user:?} is not a bcrypt hash: store hashes only (htpasswd -nB \
             {user}, or miniweb --hash-password)"
        ));
    }
    Ok((user.to_string(), hash.to_string()))
}

/// A bcrypt hash of `password`, for `--hash-password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    bcrypt::hash(password, bcrypt::DEFAULT_COST).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user_password: &str) -> String {
        let token = base64::engine::general_purpose::STANDARD.encode(user_password);
        format!("Basic {token}")
    }

    #[test]
    fn users_are_checked_by_hash_and_failures_say_why() {
        // Cost 4, the least bcrypt takes: the test checks the logic, not the cost.
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::parse(&format!("# users\nalice:{hash}\n"), "/private").unwrap();
        assert_eq!(
            auth.check_header(Some(&header("alice:s3cret"))),
            Ok("alice".into())
        );
        // Remembered: the second time takes no bcrypt, and says the same.
        assert_eq!(
            auth.check_header(Some(&header("alice:s3cret"))),
            Ok("alice".into())
        );
        assert_eq!(
            auth.check_header(Some(&header("alice:wrong"))),
            Err(Refusal::WrongPassword("alice".into()))
        );
        assert_eq!(
            auth.check_header(Some(&header("bob:s3cret"))),
            Err(Refusal::UnknownUser("bob".into()))
        );
        for bad in ["Basic", "Basic !!!", "Bearer abc", &header("no-colon")] {
            assert_eq!(
                auth.check_header(Some(bad)),
                Err(Refusal::Malformed),
                "{bad}"
            );
        }
        assert_eq!(auth.check_header(None), Err(Refusal::NoCredentials));
    }

    #[test]
    fn the_prefix_covers_its_segment_however_the_path_is_spelt() {
        let hash = bcrypt::hash("x", 4).unwrap();
        let auth = BasicAuth::parse(&format!("a:{hash}"), "/private/").unwrap();
        for path in [
            "/private",
            "/private/",
            "/private/a.txt",
            "//private/a",
            "/x/../private/a",
        ] {
            assert!(auth.covers(path), "{path}");
        }
        assert!(auth.covers("/%70rivate/a"));
        assert!(
            auth.covers("/../private"),
            "a path that climbs is asked too"
        );
        assert!(!auth.covers("/privateer/a"));
        assert!(!auth.covers("/public/a"));
    }

    #[test]
    fn a_request_is_judged_by_its_path_or_by_needing_a_user() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = BasicAuth::parse(&format!("alice:{hash}"), "/private").unwrap();
        let none = Headers::new();
        let mut signed = Headers::new();
        signed.append("Authorization", header("alice:s3cret"));
        assert_eq!(auth.judge("/public/a", &none, false), Verdict::Open);
        assert_eq!(
            auth.judge("/private/a", &none, false),
            Verdict::Refused(Refusal::NoCredentials)
        );
        assert_eq!(
            auth.judge("/public/a", &none, true),
            Verdict::Refused(Refusal::NoCredentials),
            "an upload that needs a user, outside the prefix"
        );
        assert_eq!(auth.judge("/public/a", &signed, true), Verdict::SignedIn);
        assert_eq!(auth.describe(), "1 user(s), on /private/");
    }

    #[test]
    fn plain_passwords_are_refused() {
        let err = BasicAuth::parse("alice:hunter2\n", "/").unwrap_err();
        assert!(
            err.contains("line 1") && err.contains("not a bcrypt hash"),
            "{err}"
        );
        assert!(
            !err.contains("hunter2"),
            "the message never repeats a password: {err}"
        );
        assert!(BasicAuth::parse("# nobody\n", "/").is_err());
    }
}
