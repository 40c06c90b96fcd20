//! Both READMEs stay true to the code: every file or folder of the project they name in
//! backticks exists, and the English README's Layout names every source file.

use std::path::Path;

/// Files the READMEs name as ones a reader makes (a template to add, a file to drop in), or
/// that `bench/run.sh` installs.
const EXAMPLES: &[&str] = &[
    "templates/hello.html",
    "static/about.html",
    "bench/.venv",
    "bench/.sws",
];

/// Every `…` span of `text` outside fenced code blocks that looks like a path of this project.
fn named_paths(text: &str) -> Vec<String> {
    let mut fenced = false;
    let prose: String = text
        .lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .map(|line| format!("{line}\n"))
        .collect();
    const TOPS: &[&str] = &[
        "src/",
        "tests/",
        "examples/",
        "bench/",
        "deploy/",
        "templates/",
        "migrations/",
        "static/",
        "macros/",
        "course/",
        ".ci/",
    ];
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| TOPS.iter().any(|top| span.starts_with(top)))
        .filter(|span| !span.contains(['*', '{', ' ', '<', '…']))
        .map(|span| span.trim_end_matches([',', '.', ':']).to_string())
        .collect()
}

#[test]
fn every_path_the_readmes_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let mut seen = 0;
    for readme in ["README.md", "README.zh-CN.md"] {
        let text = std::fs::read_to_string(root.join(readme)).unwrap();
        for path in named_paths(&text) {
            seen += 1;
            if !root.join(&path).exists() && !EXAMPLES.contains(&path.as_str()) {
                missing.push(format!("{readme}: {path}"));
            }
        }
    }
    assert!(seen > 40, "the scan found only {seen} paths");
    assert!(missing.is_empty(), "named but missing: {missing:#?}");
}

/// The Layout's entries: each line that starts at the margin with a path (`src/server/`),
/// with the indented lines under it.
fn layout_entries(layout: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in layout
        .lines()
        .filter(|l| !l.starts_with("```") && !l.starts_with('#'))
    {
        if line.starts_with(' ') {
            if let Some((_, text)) = entries.last_mut() {
                text.push_str(line);
            }
        } else if let Some(path) = line.split_whitespace().next() {
            entries.push((path.to_string(), line.to_string()));
        }
    }
    entries
}

#[test]
fn the_layout_names_every_source_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = text.find("## Layout").expect("a Layout section");
    let layout = &text[start..start + text[start..].find("\n## ").unwrap_or(text.len() - start)];
    let entries = layout_entries(layout);
    assert!(
        entries.len() > 15,
        "the scan found only {} entries",
        entries.len()
    );
    let mut unnamed = Vec::new();
    let mut todo = vec![root.join("src"), root.join("course/examples")];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("tests.rs") {
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            // The entry whose path is the longest prefix of this file's names it: by file
            // name (`static_files/ (mod.rs, path.rs …`), or an example by its stem.
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let named = entries
                .iter()
                .filter(|(p, _)| rel.starts_with(p.as_str()))
                .max_by_key(|(p, _)| p.len())
                .is_some_and(|(p, text)| {
                    *p == rel
                        || text.contains(&name)
                        || (rel.starts_with("course/") && text.contains(&stem))
                });
            if !named {
                unnamed.push(rel);
            }
        }
    }
    assert!(unnamed.is_empty(), "the Layout omits: {unnamed:#?}");
}
