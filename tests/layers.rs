//! The house rule, checked on the source: every arrow points down the layer picture of the
//! README. The library is `http`, `encoding`, `server`, `framework` and `runner`; the stock
//! site (`main`, `stocks`, `builtin`) is the binary, and nothing of the library uses it.
//! `server` never uses `framework` or `runner`; `framework` never uses `server` or `runner`;
//! `http` and `builtin` use nothing of the crate, `encoding` and `test_client` only `http`; the
//! stock site's handlers
//! (`stocks`) use the framework and the interface only; and no files import each other, in a
//! circle of any length.
//!
//! It reads the source as text: `use` declarations, every `crate::`, `super::`, `self::` and
//! `miniweb::` path in code (outside comments and string literals), and a parent's `child::`
//! paths. Simple, and enough for the way this crate is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`server::static_files::path`) -> its source, tests left out.
fn modules() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut todo = vec![src.clone()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            if parts == ["main"] || parts.last().map(String::as_str) == Some("tests") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // An inline `mod tests` at the bottom speaks of its own file as `super`.
            // (Its `#[cfg(...)]` may be `test` alone or `all(test, unix)`.)
            let text = match text.find("\nmod tests {") {
                Some(i) => text[..text[..i].rfind("#[cfg(").unwrap_or(i)].to_string(),
                None => text,
            };
            out.insert(parts.join("::"), text);
        }
    }
    out
}

/// Every full path a `use` tree names: `a::{b, c::{d, e}}` -> `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap().trim().to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap()];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(&format!("{prefix}{}", p.trim())))
        .collect()
}

/// The crate's modules that module `me` uses.
fn dependencies(me: &str, text: &str, all: &BTreeMap<String, String>) -> BTreeSet<String> {
    let parent = me.rsplit_once("::").map_or("", |(p, _)| p);
    let mut deps = BTreeSet::new();
    let mut resolve = |path: &str| {
        // `super::super::x` climbs twice.
        let mut path = path;
        let mut parent = parent;
        while path.starts_with("super::super::") {
            parent = parent.rsplit_once("::").map_or("", |(p, _)| p);
            path = &path["super::".len()..];
        }
        // The binary's files name the library `miniweb::`, as any app does.
        let full = if let Some(rest) = path
            .strip_prefix("crate::")
            .or_else(|| path.strip_prefix("miniweb::"))
        {
            rest.to_string()
        } else if let Some(rest) = path.strip_prefix("super::") {
            if parent.is_empty() {
                rest.to_string()
            } else {
                format!("{parent}::{rest}")
            }
        } else if let Some(rest) = path.strip_prefix("self::") {
            format!("{me}::{rest}")
        } else if all.contains_key(&format!("{me}::{}", path.split("::").next().unwrap())) {
            format!("{me}::{path}")
        } else {
            return;
        };
        // The longest prefix that is a module of the crate.
        let mut candidate = full.replace("::self", "");
        loop {
            if all.contains_key(&candidate) {
                if candidate != me {
                    deps.insert(candidate);
                }
                return;
            }
            match candidate.rsplit_once("::") {
                Some((shorter, _)) => candidate = shorter.to_string(),
                None => return,
            }
        }
    };
    // Each `use` declaration, from its first line to its `;`.
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        let Some(rest) = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .find_map(|p| line.strip_prefix(p))
        else {
            continue;
        };
        let mut statement = rest.to_string();
        while !statement.contains(';') {
            match lines.next() {
                Some(more) => statement.push_str(more.trim()),
                None => break,
            }
        }
        let tree = statement.split(';').next().unwrap_or_default();
        for path in expand(tree) {
            resolve(&path);
        }
    }
    // Paths written in code: `crate::framework::SqlError`, `super::load_templates()`.
    for line in text.lines() {
        for path in paths_in_code(line) {
            resolve(&path);
        }
    }
    // A parent using its child by path: `static_files::StaticFiles::new(...)`.
    for (module, _) in all.iter() {
        if let Some(child) = module.strip_prefix(&format!("{me}::")) {
            if !child.contains("::")
                && text
                    .lines()
                    .any(|l| !l.trim_start().starts_with("//") && l.contains(&format!("{child}::")))
            {
                deps.insert(module.clone());
            }
        }
    }
    deps
}

/// The `crate::…`, `super::…`, `self::…` and `miniweb::…` paths on one line of code, with its
/// comment and string literals left out.
fn paths_in_code(line: &str) -> Vec<String> {
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") {
        return Vec::new();
    }
    // Blank out string literals (escaped quotes kept inside), then cut a trailing comment.
    let mut code = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            code.push(' ');
        } else {
            if c == '"' {
                in_string = true;
            }
            code.push(c);
        }
    }
    let code = code.split("//").next().unwrap_or_default();
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut found = Vec::new();
    for root in ["crate::", "super::", "self::", "miniweb::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(root) {
            let start = from + i;
            from = start + root.len();
            let before = code[..start].chars().next_back();
            if before.is_some_and(|c| is_path_char(c) && c != ':') || code[..start].ends_with("::")
            {
                continue; // part of a longer name, or the tail of another path
            }
            let end = code[start..]
                .find(|c: char| !is_path_char(c))
                .map_or(code.len(), |n| start + n);
            found.push(code[start..end].trim_end_matches(':').to_string());
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let all = modules();
    all.iter()
        .map(|(me, text)| (me.clone(), dependencies(me, text, &all)))
        .collect()
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn every_arrow_points_down() {
    let site = ["stocks", "builtin"];
    let beside_the_interface: &[&str] = &[
        "server",
        "framework",
        "runner",
        "encoding",
        site[0],
        site[1],
    ];
    let forbidden: &[(&str, &[&str])] = &[
        ("server", &["framework", "runner", site[0], site[1]]),
        ("framework", &["server", "runner", site[0], site[1]]),
        ("runner", &[site[0], site[1]]),
        ("stocks", &["server", "runner", "builtin"]),
        // The interface, and the two pieces beside it that speak only through it: the
        // multipart parser (a format both sides use) and the in-process test client.
        ("http", beside_the_interface),
        ("multipart", beside_the_interface),
        ("test_client", beside_the_interface),
        // Content codings are beside the interface, which both sides use: they take the one
        // q-value parser from it, and the interface never uses them.
        (
            "encoding",
            &["server", "framework", "runner", site[0], site[1]],
        ),
        // Surviving a poisoned lock: a leaf of its own.
        (
            "sync",
            &[
                "server",
                "framework",
                "runner",
                "encoding",
                "http",
                site[0],
                site[1],
            ],
        ),
        (
            "builtin",
            &[
                "server",
                "framework",
                "runner",
                "encoding",
                "http",
                "stocks",
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (module, deps) in graph() {
        for dep in deps {
            let rule = forbidden.iter().find(|(from, _)| *from == top(&module));
            if rule.is_some_and(|(_, never)| never.contains(&top(&dep))) {
                wrong.push(format!("{module} uses {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "arrows pointing up: {wrong:#?}");
}

#[test]
fn no_files_import_each_other() {
    let g = graph();
    assert!(g.len() > 30, "the scan found only {} modules", g.len());
    // A depth-first search for a way back to where it started.
    fn cycle_from(
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        let here = path.last().unwrap().clone();
        for next in g.get(&here).into_iter().flatten() {
            if let Some(i) = path.iter().position(|p| p == next) {
                let mut cycle = path[i..].to_vec();
                cycle.push(next.clone());
                return Some(cycle);
            }
            if done.contains(next) {
                continue;
            }
            path.push(next.clone());
            if let Some(c) = cycle_from(g, path, done) {
                return Some(c);
            }
            path.pop();
        }
        done.insert(here);
        None
    }
    let mut done = BTreeSet::new();
    for start in g.keys() {
        if let Some(cycle) = cycle_from(&g, &mut vec![start.clone()], &mut done) {
            panic!("files import each other: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_scan_sees_the_imports_it_checks() {
    // The check above is only as good as the scan: it must see known arrows.
    let g = graph();
    let has = |from: &str, to: &str| g.get(from).is_some_and(|d| d.contains(to));
    assert!(has("server::acceptor", "server::connection"));
    assert!(has("server::static_files::range", "server::grammar"));
    assert!(has("stocks", "framework"));
    assert!(has("runner::config", "server::settings") || has("runner::config", "server"));
    assert!(has("runner", "runner::config"));
    assert!(has("runner", "framework"));
    assert!(has("server", "server::static_files"));
    assert!(has("server::static_files", "encoding"));
    assert!(has("framework::pages", "encoding"));
    assert!(has("framework::router", "framework::context"));
    // Seen only in code, not in a `use`: `crate::server::static_paths(...)`.
    assert!(has("runner", "server"));
    assert!(has("framework::templates", "framework::error"));
}

#[test]
fn paths_in_code_are_found_outside_comments_and_strings() {
    assert_eq!(
        paths_in_code("    let t = super::load_templates(&dir); // see crate::x"),
        ["super::load_templates"]
    );
    assert_eq!(
        paths_in_code(r#"    Err(crate::framework::SqlError::Busy) => log::warn!("miniweb::x"),"#),
        ["crate::framework::SqlError::Busy"]
    );
    assert!(paths_in_code("    /// [`crate::http::Request`]").is_empty());
    assert!(paths_in_code("    std::io::Error::other(e)").is_empty());
    assert_eq!(
        paths_in_code("    Self::new(self::inner::f())"),
        ["self::inner::f"]
    );
}
