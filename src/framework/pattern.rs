//! A route's path pattern (`/add/{code}.html`): parsed once, then matched against whole
//! paths segment by segment, each segment percent-decoded before it is compared.

use std::borrow::Cow;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::params::Params;

/// What a path segment may hold unencoded (RFC 3986's unreserved and sub-delims, `:` and
/// `@`); everything else is percent-encoded when a path is built.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// One segment of a pattern: literal text, or a capture with literal text around it
/// (`{code}.html` is a capture `code` followed by `.html`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Literal(String),
    Capture {
        prefix: String,
        name: String,
        suffix: String,
    },
}

/// A parsed pattern.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    pub(super) segments: Vec<Segment>,
}

impl Pattern {
    pub(super) fn parse(text: &str) -> Result<Pattern, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err("must start with `/`".into());
        };
        let mut segments = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for seg in rest.split('/') {
            let opens = seg.matches('{').count();
            let closes = seg.matches('}').count();
            if opens == 0 && closes == 0 {
                segments.push(Segment::Literal(seg.to_string()));
                continue;
            }
            if opens != 1 || closes != 1 {
                return Err(format!(
                    "segment {seg:?}: at most one `{{name}}` per segment"
                ));
            }
            let (prefix, after) = seg.split_once('{').unwrap_or_default();
            let Some((name, suffix)) = after.split_once('}') else {
                return Err(format!("segment {seg:?}: `}}` before `{{`"));
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!(
                    "segment {seg:?}: a capture name is letters, digits or `_`"
                ));
            }
            if names.contains(&name) {
                return Err(format!("capture {name:?} appears twice"));
            }
            names.push(name);
            segments.push(Segment::Capture {
                prefix: prefix.to_string(),
                name: name.to_string(),
                suffix: suffix.to_string(),
            });
        }
        Ok(Pattern { segments })
    }

    /// The path this pattern matches with `value(name)` in each capture, every segment
    /// percent-encoded (so a value's `/`, `?` or `#` stays inside its segment, and `.` or `..`
    /// is not read as a step up); `Err` with the name of a capture that has no value.
    pub(super) fn fill<'v>(
        &self,
        value: impl Fn(&str) -> Option<&'v str>,
    ) -> Result<String, String> {
        let mut path = String::new();
        for seg in &self.segments {
            path.push('/');
            let text = match seg {
                Segment::Literal(l) => Cow::Borrowed(l.as_str()),
                Segment::Capture {
                    prefix,
                    name,
                    suffix,
                } => {
                    let v = value(name).ok_or_else(|| name.clone())?;
                    Cow::Owned(format!("{prefix}{v}{suffix}"))
                }
            };
            match &*text {
                "." => path.push_str("%2E"),
                ".." => path.push_str("%2E%2E"),
                text => path.extend(utf8_percent_encode(text, SEGMENT)),
            }
        }
        Ok(path)
    }

    /// The names of its captures, in order.
    pub(super) fn captures(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Capture { name, .. } => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The pattern with capture names erased: two patterns with the same shape match the same
    /// paths, so they are duplicates.
    pub(super) fn shape(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            match seg {
                Segment::Literal(l) => s.push_str(l),
                Segment::Capture { prefix, suffix, .. } => {
                    s.push_str(prefix);
                    s.push_str("{}");
                    s.push_str(suffix);
                }
            }
        }
        s
    }

    /// Matches a raw (percent-encoded) path; each segment is decoded before comparing, and a
    /// capture holds its decoded text. `None` if the path does not match.
    pub(super) fn matches(&self, raw_path: &str) -> Option<Params> {
        self.try_match(raw_path).ok()
    }

    /// [`Pattern::matches`], saying where a path that does not match parted from the pattern.
    /// Allocates nothing on a miss: the lookup of every request tries several patterns.
    pub(super) fn try_match(&self, raw_path: &str) -> Result<Params, Miss> {
        let rest = raw_path.strip_prefix('/').ok_or(Miss::NoSlash)?;
        let mut parts = rest.split('/');
        let mut params = Params::default();
        for (at, seg) in self.segments.iter().enumerate() {
            let part = parts.next().ok_or(Miss::TooShort { at })?;
            // Most segments have nothing to decode, and a `&str` is UTF-8 already: only a
            // segment with a `%` goes through the decoder (this runs for every route tried).
            let decoded = if part.contains('%') {
                percent_decode_str(part)
                    .decode_utf8()
                    .map_err(|_| Miss::NotUtf8 { at })?
            } else {
                Cow::Borrowed(part)
            };
            match seg {
                Segment::Literal(l) => {
                    if *decoded != **l {
                        return Err(Miss::Literal { at });
                    }
                }
                Segment::Capture {
                    prefix,
                    name,
                    suffix,
                } => {
                    let value = decoded
                        .strip_prefix(prefix.as_str())
                        .ok_or(Miss::Prefix { at })?;
                    let value = value
                        .strip_suffix(suffix.as_str())
                        .ok_or(Miss::Suffix { at })?;
                    if value.is_empty() {
                        return Err(Miss::Empty { at });
                    }
                    params.push(name, value.to_string());
                }
            }
        }
        if parts.next().is_some() {
            return Err(Miss::TooLong);
        }
        Ok(params)
    }
}

/// Where a path parted from a pattern; `at` counts segments from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Miss {
    NoSlash,
    TooShort { at: usize },
    TooLong,
    NotUtf8 { at: usize },
    Literal { at: usize },
    Prefix { at: usize },
    Suffix { at: usize },
    Empty { at: usize },
}
