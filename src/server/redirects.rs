//! Redirects and rewrites (`[[redirects]]`, `[[rewrites]]`, `--redirect`, `--rewrite`),
//! checked before the files and the app. A redirect answers with its status and the target,
//! each `$n` filled by what the glob's wildcards matched (`/blog/* -> /posts/$1`); the query
//! goes along when the target has none. A rewrite serves another path in place of the one
//! asked for, and the client never knows (`/app/** -> /app/index.html`).
//!
//! Rules that send a request round in a circle are refused at start-up: each rule's target,
//! its wildcards filled with a sample segment, is run through the rules again, and a chain that
//! comes back to a rule it passed is a loop (`/a/* -> /b/$1` with `/b/* -> /a/$1`).

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::glob::{expand, highest_capture, Glob};

/// The bytes a path keeps encoded in a `Location` or a rewritten target.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// What the start-up check puts where a wildcard matched.
const SAMPLE: &str = "x";

/// One redirect: the paths, where they go, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The paths it is for.
    pub from: Glob,
    /// A path from `/`, or an absolute `https://` URL; `$1`... for the captures.
    pub to: String,
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
}

/// One rewrite: the paths, and the path served in their place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The paths it is for.
    pub from: Glob,
    /// A path from `/`; `$1`... for the captures.
    pub to: String,
}

/// Every rule, checked together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    redirects: Vec<Redirect>,
    rewrites: Vec<Rewrite>,
}

/// What the rules make of a request path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Routed {
    /// Answer with this redirect.
    Redirect(u16, String),
    /// Serve this (decoded) path instead, as this target (encoded, with the query).
    Rewrite { path: String, target: String },
    /// No rule applies.
    Unchanged,
}

impl Redirect {
    /// `from` (a glob from `/`) to `to`, with `status`; `Err` says what is wrong.
    pub fn new(from: &str, to: &str, status: u16) -> Result<Redirect, String> {
        if ![301, 302, 303, 307, 308].contains(&status) {
            return Err(format!(
                "redirect {from}: status must be 301, 302, 303, 307 or 308, got {status}"
            ));
        }
        let from = from_glob(from)?;
        let absolute = to.starts_with("https://") || to.starts_with("http://");
        if !absolute && !to.starts_with('/') {
            return Err(format!(
                "redirect {}: the target must be a path from / or an http(s):// URL, got {to:?}",
                from.as_str()
            ));
        }
        check_target(&from, to)?;
        Ok(Redirect {
            from,
            to: to.to_string(),
            status,
        })
    }
}

impl Rewrite {
    /// `from` (a glob from `/`) served as `to`; `Err` says what is wrong.
    pub fn new(from: &str, to: &str) -> Result<Rewrite, String> {
        let from = from_glob(from)?;
        if !to.starts_with('/') {
            return Err(format!(
                "rewrite {}: the target must be a path from /, got {to:?}",
                from.as_str()
            ));
        }
        check_target(&from, to)?;
        Ok(Rewrite {
            from,
            to: to.to_string(),
        })
    }
}

/// `--redirect "FROM TO [STATUS]"` and `--rewrite "FROM TO"`, as the command line gives them.
pub fn words(flag: &str, line: &str) -> Result<Vec<String>, String> {
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    match (flag, words.len()) {
        ("--redirect", 2 | 3) | ("--rewrite", 2) => Ok(words),
        ("--redirect", _) => Err(format!("--redirect {line:?}: write \"FROM TO [STATUS]\"")),
        _ => Err(format!("{flag} {line:?}: write \"FROM TO\"")),
    }
}

fn from_glob(from: &str) -> Result<Glob, String> {
    if !from.starts_with('/') {
        return Err(format!("{from:?}: a rule's path must start with /"));
    }
    Glob::new(from).map_err(|e| format!("{from:?}: {e}"))
}

fn check_target(from: &Glob, to: &str) -> Result<(), String> {
    if to.contains(['\r', '\n', '\0', ' ']) {
        return Err(format!(
            "{}: the target {to:?} must be one word",
            from.as_str()
        ));
    }
    let wanted = highest_capture(to);
    if wanted > from.captures() {
        return Err(format!(
            "{}: the target names ${wanted}, and the path has {} wildcard(s)",
            from.as_str(),
            from.captures()
        ));
    }
    Ok(())
}

impl Rules {
    /// The rules, or the loop they would make.
    pub fn new(redirects: Vec<Redirect>, rewrites: Vec<Rewrite>) -> Result<Rules, String> {
        let rules = Rules {
            redirects,
            rewrites,
        };
        rules.check_loops()?;
        Ok(rules)
    }

    /// Whether there is any rule.
    pub fn is_empty(&self) -> bool {
        self.redirects.is_empty() && self.rewrites.is_empty()
    }

    /// These rules with `redirects` and `rewrites` after them (the command line's after the
    /// config's), checked again together.
    pub fn with(
        mut self,
        redirects: Vec<Redirect>,
        rewrites: Vec<Rewrite>,
    ) -> Result<Rules, String> {
        self.redirects.extend(redirects);
        self.rewrites.extend(rewrites);
        Rules::new(self.redirects, self.rewrites)
    }

    /// Whether any rule rewrites.
    pub fn has_rewrites(&self) -> bool {
        !self.rewrites.is_empty()
    }

    /// For the start-up line.
    pub fn describe(&self) -> String {
        format!(
            "{} redirect(s), {} rewrite(s)",
            self.redirects.len(),
            self.rewrites.len()
        )
    }

    /// What the rules make of `path` (decoded) with `query`.
    pub(crate) fn route(&self, path: &str, query: &str) -> Routed {
        if self.is_empty() {
            return Routed::Unchanged;
        }
        if let Some((rule, caps)) = first_match(&self.redirects, |r| &r.from, path) {
            let encoded: Vec<String> = caps
                .iter()
                .map(|c| utf8_percent_encode(c, PATH).to_string())
                .collect();
            let encoded: Vec<&str> = encoded.iter().map(String::as_str).collect();
            let mut location = expand(&rule.to, &encoded);
            if !query.is_empty() && !location.contains('?') {
                location.push('?');
                location.push_str(query);
            }
            return Routed::Redirect(rule.status, location);
        }
        let mut current = path.to_string();
        let mut rewritten = false;
        // The start-up check refused circles through the sample; a circle that only some
        // paths take stops here.
        for _ in 0..=self.rewrites.len() {
            let Some((rule, caps)) = first_match(&self.rewrites, |r| &r.from, &current) else {
                break;
            };
            let next = expand(&rule.to, &caps);
            if next == current {
                break;
            }
            current = next;
            rewritten = true;
        }
        if !rewritten {
            return Routed::Unchanged;
        }
        let (new_path, new_query) = match current.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (current, query.to_string()),
        };
        let mut target = utf8_percent_encode(&new_path, PATH).to_string();
        if !new_query.is_empty() {
            target.push('?');
            target.push_str(&new_query);
        }
        Routed::Rewrite {
            path: new_path,
            target,
        }
    }

    /// Refuses rules that send a path round in a circle (see the module's comment).
    fn check_loops(&self) -> Result<(), String> {
        let redirects: Vec<(&Glob, &str)> = self
            .redirects
            .iter()
            .map(|r| (&r.from, r.to.as_str()))
            .collect();
        let rewrites: Vec<(&Glob, &str)> = self
            .rewrites
            .iter()
            .map(|r| (&r.from, r.to.as_str()))
            .collect();
        // A redirect to where it was asked from is a loop for the browser; a rewrite that
        // leaves a path as it is (`/** -> /index.html`, from /index.html) is where it ends.
        find_circle("redirect", &redirects, false)?;
        find_circle("rewrite", &rewrites, true)
    }
}

/// The first circle among `rules` (glob, target), followed from each rule's sample target;
/// a rule that maps a path to itself ends a chain if `fixed_point_ends`.
fn find_circle(kind: &str, rules: &[(&Glob, &str)], fixed_point_ends: bool) -> Result<(), String> {
    for start in 0..rules.len() {
        let mut seen = vec![start];
        let mut at = start;
        loop {
            let (from, to) = rules[at];
            let target = sample_target(from, to);
            if !target.starts_with('/') {
                break; // to another site
            }
            let path = target.split('?').next().unwrap_or_default();
            let Some(next) = rules.iter().position(|(f, _)| f.matches(path)) else {
                break;
            };
            if fixed_point_ends {
                let (from, to) = rules[next];
                let again = expand(to, &from.capture(path).unwrap_or_default());
                if again == path {
                    break;
                }
            }
            if seen.contains(&next) {
                let chain: Vec<&str> = seen.iter().map(|&i| rules[i].0.as_str()).collect();
                return Err(format!(
                    "these {kind}s go round in a circle: {} -> {} again",
                    chain.join(" -> "),
                    chain[0]
                ));
            }
            seen.push(next);
            at = next;
        }
    }
    Ok(())
}

/// The target of a rule for a path whose wildcards all matched [`SAMPLE`].
fn sample_target(from: &Glob, to: &str) -> String {
    expand(to, &vec![SAMPLE; from.captures()])
}

fn first_match<'r, 'p, R>(
    rules: &'r [R],
    glob: impl Fn(&R) -> &Glob,
    path: &'p str,
) -> Option<(&'r R, Vec<&'p str>)> {
    rules
        .iter()
        .find_map(|r| glob(r).capture(path).map(|caps| (r, caps)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(redirects: &[(&str, &str, u16)], rewrites: &[(&str, &str)]) -> Result<Rules, String> {
        let redirects = redirects
            .iter()
            .map(|(f, t, s)| Redirect::new(f, t, *s))
            .collect::<Result<_, _>>()?;
        let rewrites = rewrites
            .iter()
            .map(|(f, t)| Rewrite::new(f, t))
            .collect::<Result<_, _>>()?;
        Rules::new(redirects, rewrites)
    }

    #[test]
    fn redirects_fill_captures_and_keep_the_query() {
        let r = rules(&[("/blog/*/**", "/posts/$1/$2", 301)], &[]).unwrap();
        assert_eq!(
            r.route("/blog/2024/a b.html", "x=1"),
            Routed::Redirect(301, "/posts/2024/a%20b.html?x=1".into())
        );
        assert_eq!(r.route("/other", ""), Routed::Unchanged);
    }

    #[test]
    fn rewrites_serve_another_path() {
        let r = rules(&[], &[("/app/**", "/app/index.html")]).unwrap();
        assert_eq!(
            r.route("/app/settings/profile", "tab=1"),
            Routed::Rewrite {
                path: "/app/index.html".into(),
                target: "/app/index.html?tab=1".into()
            }
        );
        assert_eq!(r.route("/app/index.html", ""), Routed::Unchanged);
    }

    #[test]
    fn circles_are_refused_at_start_up() {
        let err = rules(&[("/a/*", "/b/$1", 302), ("/b/*", "/a/$1", 302)], &[]).unwrap_err();
        assert!(err.contains("circle"), "{err}");
        assert!(rules(&[("/**", "/x/$1", 302)], &[]).is_err());
        assert!(rules(&[], &[("/a", "/b"), ("/b", "/a")]).is_err());
        // A rewrite whose target it matches again, and changes again, never ends.
        assert!(rules(&[], &[("/a/*", "/a/$1x")]).is_err());
        // One that leaves its target as it is ends there.
        assert!(rules(&[], &[("/**", "/index.html")]).is_ok());
        // A chain that ends, and a redirect to another site, are fine.
        assert!(rules(&[("/a", "/b", 301), ("/b", "/c", 301)], &[]).is_ok());
        assert!(rules(&[("/**", "https://example.com/$1", 308)], &[]).is_ok());
    }

    #[test]
    fn broken_rules_say_why() {
        assert!(Redirect::new("/a", "/b", 200).is_err());
        assert!(Redirect::new("a", "/b", 301).is_err());
        assert!(Redirect::new("/a/*", "/b/$2", 301).is_err());
        assert!(Rewrite::new("/a", "https://x").is_err());
        assert!(Redirect::new("/a", "/b\r\nX: y", 301).is_err());
    }
}
