//! The templates as the framework holds them: compiled once for good, or, in dev mode, looked
//! at again on every request and compiled anew when a file under the folder has changed, so
//! that an edit shows on the next reload of the page.

use crate::sync::Unpoisoned;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::error::Error;

/// The templates of a running framework.
pub(crate) enum Templates {
    /// Compiled at start-up, never reloaded (boxed: Tera 2 is a large struct).
    Fixed(Box<tera::Tera>),
    /// Compiled again when the files in `dir` change (dev mode).
    Watched(Watched),
}

/// Templates that follow their folder.
pub(crate) struct Watched {
    dir: PathBuf,
    state: RwLock<State>,
    /// What every fresh compile gets before use (the `url_for` function).
    extend: Registrar,
}

/// Registers the framework's functions on freshly compiled templates.
pub(crate) type Registrar = Arc<dyn Fn(&mut tera::Tera) + Send + Sync>;

struct State {
    tera: Arc<tera::Tera>,
    /// What the folder looked like when `tera` was compiled.
    fingerprint: u64,
    /// Why the folder's current files do not compile, if they do not: the last good
    /// templates stay in use meanwhile, and every page says so.
    broken: Option<String>,
}

/// The templates one request uses, held for the whole request even if a reload happens.
pub(crate) enum InUse<'a> {
    Fixed(&'a tera::Tera),
    Watched(Arc<tera::Tera>),
}

impl Deref for InUse<'_> {
    type Target = tera::Tera;

    fn deref(&self) -> &tera::Tera {
        match self {
            InUse::Fixed(t) => t,
            InUse::Watched(t) => t,
        }
    }
}

impl Templates {
    /// `tera`, reloaded from `dir` whenever its files change.
    pub fn watched(dir: &Path, tera: tera::Tera, extend: Registrar) -> Templates {
        Templates::Watched(Watched {
            extend,
            dir: dir.to_path_buf(),
            state: RwLock::new(State {
                tera: Arc::new(tera),
                fingerprint: fingerprint(dir),
                broken: None,
            }),
        })
    }

    /// The templates to use now, and why the files on disk do not compile if they do not.
    pub fn current(&self) -> (InUse<'_>, Option<String>) {
        let watched = match self {
            Templates::Fixed(tera) => return (InUse::Fixed(tera), None),
            Templates::Watched(w) => w,
        };
        let now = fingerprint(&watched.dir);
        {
            let state = watched.state.read().unpoisoned();
            if state.fingerprint == now {
                return (InUse::Watched(state.tera.clone()), state.broken.clone());
            }
        }
        let mut state = watched.state.write().unpoisoned();
        if state.fingerprint != now {
            state.fingerprint = now;
            match load_templates_with(&watched.dir, &*watched.extend) {
                Ok(tera) => {
                    log::info!("templates in {} changed: reloaded", watched.dir.display());
                    state.tera = Arc::new(tera);
                    state.broken = None;
                }
                Err(e) => {
                    log::error!("{e}");
                    state.broken = Some(e);
                }
            }
        }
        (InUse::Watched(state.tera.clone()), state.broken.clone())
    }
}

/// A fingerprint of the folder: every file's path, size and modification time, so that an
/// edit, a new file, a removed file or a rename each change it.
fn fingerprint(dir: &Path) -> u64 {
    let mut files = Vec::new();
    collect(dir, &mut files);
    files.sort();
    let mut hasher = DefaultHasher::new();
    files.hash(&mut hasher);
    hasher.finish()
}

fn collect(dir: &Path, files: &mut Vec<(PathBuf, u64, Option<std::time::SystemTime>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            collect(&path, files);
        } else {
            files.push((path, meta.len(), meta.modified().ok()));
        }
    }
}

/// Loads every `*.html` under `dir` (named by their path below it, with `/`), compiled once;
/// autoescaping is on for them.
pub fn load_templates(dir: &Path) -> Result<tera::Tera, String> {
    load_templates_with(dir, &|_| {})
}

/// [`load_templates`], with `extend`'s functions registered first: Tera checks, as it
/// compiles a template, that every function it calls exists.
pub(crate) fn load_templates_with(
    dir: &Path,
    extend: &dyn Fn(&mut tera::Tera),
) -> Result<tera::Tera, String> {
    if !dir.is_dir() {
        return Err(format!("templates folder {} does not exist", dir.display()));
    }
    let mut files = Vec::new();
    html_files(dir, dir, &mut files).map_err(|e| format!("templates in {}: {e}", dir.display()))?;
    let mut tera = tera::Tera::default();
    extend(&mut tera);
    tera.add_raw_templates(files)
        .map_err(|e| format!("templates in {}: {}", dir.display(), Error::Template(e)))?;
    Ok(tera)
}

/// Every `*.html` file under `dir`, as (name relative to `base` with `/`, text).
fn html_files(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            html_files(base, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "html") {
            let name = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            out.push((name, text));
        }
    }
    Ok(())
}

/// Templates given as (name, bytes), compiled once; autoescaping is on for `*.html`.
pub(crate) fn builtin_templates(
    files: &[(&str, &[u8])],
    extend: &dyn Fn(&mut tera::Tera),
) -> Result<tera::Tera, String> {
    let mut texts = Vec::new();
    for (name, bytes) in files {
        let text =
            std::str::from_utf8(bytes).map_err(|e| format!("built-in template {name}: {e}"))?;
        texts.push((*name, text));
    }
    let mut tera = tera::Tera::default();
    extend(&mut tera);
    tera.add_raw_templates(texts)
        .map_err(|e| format!("built-in templates: {}", Error::Template(e)))?;
    Ok(tera)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &Templates) -> (String, Option<String>) {
        let (tera, broken) = t.current();
        let page = tera.render("a.html", &tera::Context::new()).unwrap();
        (page, broken)
    }

    #[test]
    fn an_edit_is_seen_on_the_next_request_and_a_broken_one_keeps_the_last_good() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.html"), "one").unwrap();
        let t = Templates::watched(
            dir.path(),
            load_templates(dir.path()).unwrap(),
            Arc::new(|_| {}),
        );
        assert_eq!(render(&t), ("one".into(), None));
        std::fs::write(dir.path().join("a.html"), "two!").unwrap();
        assert_eq!(render(&t), ("two!".into(), None));
        std::fs::write(dir.path().join("a.html"), "{% if %}").unwrap();
        let (page, broken) = render(&t);
        assert_eq!(page, "two!");
        assert!(broken.unwrap().contains("a.html"));
        std::fs::write(dir.path().join("a.html"), "three").unwrap();
        assert_eq!(render(&t), ("three".into(), None));
    }
}
