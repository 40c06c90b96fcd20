//! Compiles the site's own files into the binary, so that `miniweb` runs from any folder:
//! writes `$OUT_DIR/builtin.rs` with one `include_bytes!` per file of `static/`, `templates/`
//! and `migrations/` (dotfiles left out). `src/builtin.rs` includes it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let mut code = String::new();
    for (name, folder, what) in [
        ("STATIC", "static", "The site's files (stylesheet, images)."),
        ("TEMPLATES", "templates", "The site's Tera templates."),
        ("MIGRATIONS", "migrations", "The numbered SQL migrations."),
    ] {
        let dir = root.join(folder);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        walk(&dir, &dir, &mut files);
        files.sort();
        writeln!(code, "/// {what}").unwrap();
        writeln!(code, "pub static {name}: Files = &[").unwrap();
        for (relative, absolute) in files {
            writeln!(
                code,
                "    ({relative:?}, include_bytes!({:?})),",
                absolute.display().to_string()
            )
            .unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    std::fs::write(out.join("builtin.rs"), code).expect("OUT_DIR is writable");
}

/// Every regular file under `dir`, as (path relative to `base` with `/`, absolute path).
fn walk(base: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(base, &path, files);
        } else if path.is_file() {
            let relative = path.strip_prefix(base).expect("under base");
            let parts: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((parts.join("/"), path));
        }
    }
}
