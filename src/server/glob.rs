//! Path globs, as the header rules and the redirects write them: `*` is any run of characters
//! within one segment, `**` any run across segments, `?` one character, `{css,js}` one of the
//! words; everything else stands for itself. Each wildcard is captured, `$1` for the first,
//! for a redirect's target. A glob with no `/` is about the last segment alone (`*.woff2`
//! matches `/fonts/a.woff2`); one with a `/` is about the whole path.
//!
//! A glob becomes a regular expression once, at start-up: matching is then linear in the
//! path, whatever the glob (a hand-written backtracking matcher is exponential on `*a*a*a*b`).

use std::fmt;

use regex::Regex;

/// A compiled glob.
#[derive(Clone)]
pub struct Glob {
    source: String,
    regex: Regex,
    /// Whether it is about the last segment alone (it has no `/`).
    last_segment: bool,
}

impl Glob {
    /// `source` compiled; `Err` says what is wrong with it, in a few words.
    pub fn new(source: &str) -> Result<Glob, String> {
        if source.is_empty() {
            return Err("an empty glob".into());
        }
        let mut re = String::from("^");
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    re.push_str("(.*)");
                }
                '*' => {
                    re.push_str("([^/]*)");
                }
                '?' => {
                    re.push_str("([^/])");
                }
                '{' => {
                    let mut words = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c @ ('{' | '*' | '?' | '/')) => {
                                return Err(format!("{c:?} inside {{...}}"))
                            }
                            Some(c) => words.push(c),
                            None => return Err("a { without its }".into()),
                        }
                    }
                    let words: Vec<String> = words.split(',').map(regex::escape).collect();
                    re.push('(');
                    re.push_str(&words.join("|"));
                    re.push(')');
                }
                '}' => return Err("a } without its {".into()),
                c => re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            }
        }
        re.push('$');
        let regex = Regex::new(&re).map_err(|e| e.to_string())?;
        Ok(Glob {
            source: source.to_string(),
            regex,
            last_segment: !source.contains('/'),
        })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// How many wildcards it captures (`$1` to `$n`).
    pub fn captures(&self) -> usize {
        // Every group of the regex is a wildcard's; the first "group" is the whole match.
        self.regex.captures_len() - 1
    }

    /// Whether `path` (decoded, from `/`) matches.
    pub fn matches(&self, path: &str) -> bool {
        self.regex.is_match(self.subject(path))
    }

    /// What each wildcard matched in `path`, `$1` first; `None` if it does not match.
    pub fn capture<'p>(&self, path: &'p str) -> Option<Vec<&'p str>> {
        // Most paths match no rule: `is_match` answers those without the captures' search
        // and allocation.
        let subject = self.subject(path);
        if !self.regex.is_match(subject) {
            return None;
        }
        let caps = self.regex.captures(subject)?;
        Some(
            caps.iter()
                .skip(1)
                .map(|m| m.map_or("", |m| m.as_str()))
                .collect(),
        )
    }

    fn subject<'p>(&self, path: &'p str) -> &'p str {
        match self.last_segment {
            true => path.rsplit('/').next().unwrap_or(path),
            false => path,
        }
    }
}

/// `template` with `$1` to `$9` replaced by `captured` (a `$` before anything else stays).
pub fn expand(template: &str, captured: &[&str]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        let digit = chars.peek().and_then(|d| d.to_digit(10));
        match (c, digit) {
            ('$', Some(n @ 1..=9)) => {
                chars.next();
                out.push_str(captured.get(n as usize - 1).copied().unwrap_or(""));
            }
            (c, _) => out.push(c),
        }
    }
    out
}

/// The highest `$n` `template` names (0 for none).
pub fn highest_capture(template: &str) -> usize {
    let bytes = template.as_bytes();
    bytes
        .windows(2)
        .filter(|w| w[0] == b'$' && (b'1'..=b'9').contains(&w[1]))
        .map(|w| usize::from(w[1] - b'0'))
        .max()
        .unwrap_or(0)
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.source)
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Glob) -> bool {
        self.source == other.source
    }
}

impl Eq for Glob {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_stay_in_their_segment_unless_doubled() {
        let table = [
            ("*.woff2", "/fonts/a.woff2", true),
            ("*.woff2", "/a.woff2.txt", false),
            ("/img/*.png", "/img/a.png", true),
            ("/img/*.png", "/img/x/a.png", false),
            ("/img/**.png", "/img/x/a.png", true),
            ("/**", "/", true),
            ("*.{css,js}", "/a/b.js", true),
            ("*.{css,js}", "/a/b.jsx", false),
            ("/a?c", "/abc", true),
            ("/a?c", "/a/c", false),
            ("/a.b", "/aXb", false),
            ("/(x)+", "/(x)+", true),
            // Paths are decoded text: a wildcard or a `?` takes a whole character, not a byte.
            ("/文档/*.txt", "/文档/说明.txt", true),
            ("/?.txt", "/中.txt", true),
            ("/文档/*", "/文稿/a", false),
        ];
        for (glob, path, want) in table {
            assert_eq!(
                Glob::new(glob).unwrap().matches(path),
                want,
                "{glob} {path}"
            );
        }
    }

    #[test]
    fn captures_fill_the_target() {
        let glob = Glob::new("/blog/*/**").unwrap();
        let caps = glob.capture("/blog/2024/a/b.html").unwrap();
        assert_eq!(caps, ["2024", "a/b.html"]);
        assert_eq!(
            expand("/posts/$1/$2?x=$", &caps),
            "/posts/2024/a/b.html?x=$"
        );
        assert_eq!(highest_capture("/posts/$1/$2"), 2);
        assert_eq!(glob.captures(), 2);
    }

    #[test]
    fn broken_globs_say_why() {
        for bad in ["", "/a{b", "/a}b", "/{a,*}"] {
            assert!(Glob::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_is_linear_on_a_hostile_path() {
        // Exponential for a backtracking matcher; one pass for the compiled form.
        let glob = Glob::new("**a**a**a**a**a**a**b").unwrap();
        let path = format!("/{}", "a".repeat(10_000));
        assert!(!glob.matches(&path));
    }
}
