//! Both READMEs stay true to the code: every file or folder of the project they name in
//! backticks exists.

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
