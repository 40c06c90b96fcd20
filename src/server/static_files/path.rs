//! Resolving a request path to a file under the static root, safely: the pure part of the
//! static-file server, with the table of hostile paths it must refuse.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

use super::hidden::Hidden;

/// What a request path names under the static root.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// A regular file, by its canonical path.
    File(PathBuf),
    /// A directory named without a trailing `/`; whether it has an `index.html`.
    Dir { indexed: bool },
    /// A directory named with its trailing `/` that has no `index.html`: one to list, by its
    /// canonical path, if listings are on.
    Listing(PathBuf),
}

/// A raw (still percent-encoded) request path made safe to look up: decoded, its dot segments
/// removed (RFC 3986, section 5.2.4: `/a/./b` is `/a/b`, `/a/../b` is `/b`), its non-empty
/// segments joined by `/` without a leading one, and whether it names a folder (ends in `/`,
/// `/.` or `/..`). `None` for anything hostile: no leading `/`, encoded `/` or `\`, invalid
/// UTF-8, NUL, `\`, a `..` that would climb above the root, or a segment starting with `.`
/// (a dotfile or dot folder), except a first segment `.well-known` (RFC 8615). The one gate
/// of every static lookup, on disk and among the built-in files.
pub(crate) fn clean(raw_path: &str) -> Option<(String, bool)> {
    let rest = raw_path.strip_prefix('/')?;
    // `%2F` or `%5C` (any case) would be a separator the split below never sees.
    let encoded_separator = raw_path.as_bytes().windows(3).any(|w| {
        w[0] == b'%' && (w[1..].eq_ignore_ascii_case(b"2f") || w[1..].eq_ignore_ascii_case(b"5c"))
    });
    if encoded_separator {
        return None;
    }
    let decoded = percent_decode_str(rest).decode_utf8().ok()?;
    if decoded.contains(['\0', '\\']) {
        return None;
    }
    let mut kept: Vec<&str> = Vec::new();
    let mut folder = decoded.is_empty() || decoded.ends_with('/');
    let mut segments = decoded.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "" => {}
            "." => folder |= last,
            ".." => {
                kept.pop()?;
                folder |= last;
            }
            ".well-known" if kept.is_empty() => kept.push(segment),
            s if s.starts_with('.') => return None,
            s => kept.push(s),
        }
    }
    Some((kept.join("/"), folder))
}

/// Resolves a raw request path under `root`, which must already be canonical. `None` for
/// anything hostile (see [`clean`]) or missing, so that the answer is a plain 404 and never
/// says whether a file outside the root exists; also for any path that after following
/// symlinks leaves `root`, and for a file `hidden` names. A path ending in `/` names that directory's `index.html`, or,
/// with `listings`, the directory itself when it has none.
pub(crate) fn resolve(
    root: &Path,
    raw_path: &str,
    listings: bool,
    hidden: &Hidden,
) -> Option<Resolved> {
    let (relative, slash) = clean(raw_path)?;
    let mut candidate = root.join(relative);
    // With a `/` and no index, the folder itself: then only a folder will do.
    let mut folder_only = false;
    if slash {
        candidate.push("index.html");
        if listings && std::fs::metadata(&candidate).is_err() {
            candidate.pop();
            folder_only = true;
        }
    }
    // One `stat` settles the common miss before the many syscalls of canonicalising.
    std::fs::metadata(&candidate).ok()?;
    let real = candidate.canonicalize().ok()?;
    if !real.starts_with(root) || hidden.hides(&real) {
        return None;
    }
    let meta = real.metadata().ok()?;
    if folder_only && !meta.is_dir() {
        return None;
    }
    if meta.is_file() {
        Some(Resolved::File(real))
    } else if meta.is_dir() && slash && listings {
        Some(Resolved::Listing(real))
    } else if meta.is_dir() {
        let indexed = real.join("index.html").is_file();
        Some(Resolved::Dir { indexed })
    } else {
        None
    }
}

// The fixture makes symbolic links, which only Unix lets any user make.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::server::xorshift;
    use std::fs;

    /// A root with a few files, a dotfile, a subfolder with an index, and symlinks pointing
    /// inside and outside, plus a secret beside the root.
    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("static");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        fs::write(root.join("hello.txt"), "hello").unwrap();
        fs::write(root.join("a b.txt"), "space").unwrap();
        fs::write(root.join("中文.txt"), "zh").unwrap();
        fs::write(root.join(".secret"), "dot").unwrap();
        fs::create_dir_all(root.join(".well-known")).unwrap();
        fs::write(root.join(".well-known/x"), "known").unwrap();
        fs::write(root.join(".well-known/.hidden"), "dot").unwrap();
        fs::write(root.join("stock.db"), "data").unwrap();
        fs::write(root.join("stock.db-wal"), "data").unwrap();
        fs::write(root.join("sub/index.html"), "<p>sub</p>").unwrap();
        fs::write(root.join("sub/x.css"), "p{}").unwrap();
        fs::write(top.path().join("outside.txt"), "outside").unwrap();
        std::os::unix::fs::symlink(top.path().join("outside.txt"), root.join("escape.txt"))
            .unwrap();
        std::os::unix::fs::symlink(top.path(), root.join("updir")).unwrap();
        std::os::unix::fs::symlink(root.join("hello.txt"), root.join("inside.txt")).unwrap();
        let root = root.canonicalize().unwrap();
        (top, root)
    }

    #[test]
    fn hostile_paths_resolve_to_nothing() {
        let (_top, root) = fixture();
        let hostile = [
            "/../outside.txt",
            "/..%2foutside.txt",
            "/..%2Foutside.txt",
            "/%2e%2e/outside.txt",
            "/%2E%2E/outside.txt",
            "/%2e%2e%2foutside.txt",
            "/sub/../../outside.txt",
            "/sub/%2e%2e/%2e%2e/outside.txt",
            "/..",
            "/../",
            "/..\\outside.txt",
            "/..%5coutside.txt",
            "/..%5Coutside.txt",
            "/sub%2fx.css",
            "/hello.txt%00",
            "/hello.txt%00.png",
            "/%00",
            "/.secret",
            "/%2esecret",
            "/sub/.hidden",
            "/escape.txt",
            "/updir/outside.txt",
            "/updir",
            "/%c0%ae%c0%ae/outside.txt",
            "/%ff",
            "/%e4%b8",
            "hello.txt",
            "",
            "//..//outside.txt",
            "/missing.txt",
            "/hello.txt/",
            "/sub/missing/",
            "/%252e%252e/outside.txt",
            "/....//outside.txt",
            "/...",
            "/.git/config",
            "/.well-known/.hidden",
            "/.well-known/../.secret",
            "/sub/.well-known/x",
            "/stock.db",
            "/stock.db-wal",
            "/\\..\\outside.txt",
            "/%5c..%5coutside.txt",
        ];
        for path in hostile {
            assert_eq!(
                resolve(&root, path, true, &Hidden::default()),
                None,
                "{path:?} must not resolve"
            );
        }
    }

    #[test]
    fn random_paths_never_escape_the_root() {
        let (_top, root) = fixture();
        let pieces = [
            "/",
            "..",
            ".",
            "%2e",
            "%2f",
            "%5c",
            "\\",
            "%00",
            "updir",
            "escape.txt",
            "sub",
            "hello.txt",
            "%",
            "%e4%b8%ad",
            "//",
            "%252e",
            "outside.txt",
            ".secret",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let (mut files, mut escapes_tried) = (0, 0);
        for _ in 0..20_000 {
            let mut path = String::from("/");
            for _ in 0..(xorshift(&mut state) % 7) {
                path.push_str(pieces[(xorshift(&mut state) >> 11) as usize % pieces.len()]);
            }
            if path.contains("updir/outside.txt") || path.contains("escape.txt") {
                escapes_tried += 1;
            }
            if let Some(Resolved::File(p)) = resolve(&root, &path, true, &Hidden::default()) {
                assert!(p.starts_with(&root), "{path} resolved to {}", p.display());
                assert!(!p.ends_with("outside.txt"), "{path}");
                files += 1;
            }
        }
        // The generator must reach both real files and the symlinks out of the root.
        assert!(
            files > 0 && escapes_tried > 0,
            "{files} files, {escapes_tried} escapes"
        );
    }

    #[test]
    fn clean_paths_are_relative_and_say_whether_they_named_a_folder() {
        let cases = [
            ("/", Some(("", true))),
            ("/a.txt", Some(("a.txt", false))),
            ("//css///site.css", Some(("css/site.css", false))),
            ("/%E4%B8%AD/", Some(("中", true))),
            ("/css%2fsite.css", None),
            ("/css/../x", Some(("x", false))),
            ("/css/./x", Some(("css/x", false))),
            ("/debian/./InRelease", Some(("debian/InRelease", false))),
            ("/a/b/..", Some(("a", true))),
            ("/a/.", Some(("a", true))),
            ("/a/%2e%2e/b", Some(("b", false))),
            ("/..", None),
            ("/a/../../b", None),
            (
                "/.well-known/acme-challenge/t",
                Some((".well-known/acme-challenge/t", false)),
            ),
            ("/a/.well-known/x", None),
            ("/.env", None),
            ("/a%00", None),
            ("a.txt", None),
        ];
        for (raw, want) in cases {
            let got = clean(raw);
            assert_eq!(got.as_ref().map(|(r, s)| (r.as_str(), *s)), want, "{raw:?}");
        }
    }

    #[test]
    fn ordinary_paths_resolve_inside_the_root() {
        let (_top, root) = fixture();
        let good = [
            ("/hello.txt", "hello.txt"),
            ("//hello.txt", "hello.txt"),
            ("/a%20b.txt", "a b.txt"),
            ("/%E4%B8%AD%E6%96%87.txt", "中文.txt"),
            ("/sub/", "sub/index.html"),
            ("/sub/x.css", "sub/x.css"),
            ("/inside.txt", "hello.txt"),
            ("/./hello.txt", "hello.txt"),
            ("/sub/./x.css", "sub/x.css"),
            ("/sub/../hello.txt", "hello.txt"),
            ("/sub/%2e%2e/sub/x.css", "sub/x.css"),
            ("/.well-known/x", ".well-known/x"),
        ];
        for (path, want) in good {
            assert_eq!(
                resolve(&root, path, true, &Hidden::default()),
                Some(Resolved::File(root.join(want))),
                "{path}"
            );
        }
        assert_eq!(
            resolve(&root, "/sub", true, &Hidden::default()),
            Some(Resolved::Dir { indexed: true })
        );
        assert_eq!(
            resolve(&root, "/empty", true, &Hidden::default()),
            Some(Resolved::Dir { indexed: false })
        );
        assert_eq!(
            resolve(&root, "/empty/", true, &Hidden::default()),
            Some(Resolved::Listing(root.join("empty")))
        );
        assert_eq!(
            resolve(&root, "/", true, &Hidden::default()),
            Some(Resolved::Listing(root.clone()))
        );
        assert_eq!(resolve(&root, "/updir/", true, &Hidden::default()), None);
        // Without listings a folder without an index names nothing.
        assert_eq!(resolve(&root, "/empty/", false, &Hidden::default()), None);
        assert_eq!(
            resolve(&root, "/sub/", false, &Hidden::default()),
            Some(Resolved::File(root.join("sub/index.html")))
        );
    }
}
