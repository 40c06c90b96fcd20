//! Uploads into the served folder (`--upload`, `upload = true`): `PUT /path/name` with the
//! file as the body, or the listing page's form (`POST` to a folder, `multipart/form-data`,
//! one or more files). Only for a signed-in user (basic auth) unless `--upload-anyone` says
//! anyone may. The body was read whole before it got here (to a temporary file past
//! `body_memory_bytes`), within `upload_max_bytes`; it is then written to a temporary file in
//! the target folder and renamed into place, so an aborted or refused upload leaves nothing
//! and a reader never sees half a file. An existing file is kept unless `--overwrite`.
//!
//! A name is refused with 400, never mended: one with `/` or `\`, `..`, a NUL or a leading
//! dot, or one the server would never serve (the config file, a database).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::settings::Uploads;
use super::static_files::{clean_path, StaticFiles};
use crate::http::{Request, Response};
use crate::multipart::{self, Limits, MultipartError};

/// Whether `req` is an upload: a `PUT`, or a `POST` of a form to a folder.
pub(crate) fn is_upload(method: &str, raw_path: &str) -> bool {
    method == "PUT" || (method == "POST" && raw_path.ends_with('/'))
}

/// Answers an upload into the first folder of `files`.
pub(crate) fn upload(req: &Request, files: &StaticFiles, opts: &Uploads) -> Response {
    let Some(root) = files.upload_root() else {
        return refuse(404, "there is no folder to upload into");
    };
    // `/drop/../x` would resolve to `/x`: an upload names its place plainly, or not at all.
    let dotted = req.raw_path().split('/').any(|segment| {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        decoded == "." || decoded == ".."
    });
    if dotted {
        return refuse(400, "an upload's path has no . or .. segment");
    }
    let Some((key, names_folder)) = clean_path(req.raw_path()) else {
        return refuse(
            400,
            "the path is not a plain one (a dot segment, %2F, a NUL...)",
        );
    };
    let outcome = if req.method == "PUT" {
        if names_folder || key.is_empty() {
            return refuse(400, "PUT names a file, not a folder");
        }
        let (folder, name) = key.rsplit_once('/').unwrap_or(("", &key));
        into_folder(root, folder, files).and_then(|dir| {
            let dest = dest_in(&dir, name, files)?;
            place(&dest, req.body.reader(), opts.overwrite)
                .map(|replaced| (vec![name.to_string()], replaced))
        })
    } else {
        form_upload(req, root, &key, files, opts)
    };
    match outcome {
        Ok((names, replaced)) => {
            log::info!("uploaded into /{key}: {}", names.join(", "));
            if req.method == "PUT" {
                let status = if replaced { 204 } else { 201 };
                return Response::text(status, format!("saved {}\n", names.join(", ")))
                    .with_header("Location", req.raw_path());
            }
            // The listing page's form: back to the folder, which now shows them.
            Response::redirect(303, req.raw_path())
        }
        Err((status, why)) => refuse(status, &why),
    }
}

type Refused = (u16, String);

fn refuse(status: u16, why: &str) -> Response {
    log::info!("upload refused: {status}: {why}");
    Response::text(status, format!("{why}\n"))
}

/// The files of a form posted to the folder `key`, saved there.
fn form_upload(
    req: &Request,
    root: &Path,
    key: &str,
    files: &StaticFiles,
    opts: &Uploads,
) -> Result<(Vec<String>, bool), Refused> {
    let content_type = req.header("Content-Type").unwrap_or_default();
    let boundary = multipart::boundary(content_type).map_err(|e| match e {
        MultipartError::NotMultipart(_) if !content_type.contains("multipart") => {
            (415, "an upload form is multipart/form-data".to_string())
        }
        e => (400, e.to_string()),
    })?;
    let limits = Limits {
        max_file_bytes: opts.max_bytes,
        ..Limits::default()
    };
    let form = multipart::parse(req.body.reader(), &boundary, &limits).map_err(|e| {
        let status = match e {
            MultipartError::TooLarge(_) => 413,
            MultipartError::Io(_) => 500,
            _ => 400,
        };
        (status, e.to_string())
    })?;
    if form.files.is_empty() {
        return Err((400, "the form has no file".into()));
    }
    let dir = into_folder(root, key, files)?;
    // Every name is checked before any file is written: all of them, or none.
    let mut dests = Vec::new();
    for file in &form.files {
        let dest = dest_in(&dir, file.sent_name(), files)?;
        if dest.exists() && !opts.overwrite {
            return Err((409, format!("{} exists already", file.sent_name())));
        }
        dests.push(dest);
    }
    let mut names = Vec::new();
    let mut replaced = false;
    for (file, dest) in form.files.iter().zip(dests) {
        let reader = file.reader().map_err(|e| (500, e.to_string()))?;
        replaced |= place(&dest, reader, opts.overwrite)?;
        names.push(file.sent_name().to_string());
    }
    Ok((names, replaced))
}

/// The folder `key` (clean, relative) under `root`, which must exist there, and not through a
/// symlink out of it.
fn into_folder(root: &Path, key: &str, files: &StaticFiles) -> Result<PathBuf, Refused> {
    let dir = root.join(key);
    let real = dir
        .canonicalize()
        .map_err(|_| (409, format!("there is no folder /{key}")))?;
    if !real.is_dir() {
        return Err((409, format!("/{key} is not a folder")));
    }
    if !real.starts_with(root) || files.hides(&real) {
        return Err((403, format!("/{key} is not a folder to upload into")));
    }
    Ok(real)
}

/// The path a file called `name` would have in `dir`, if it is a name to take.
fn dest_in(dir: &Path, name: &str, files: &StaticFiles) -> Result<PathBuf, Refused> {
    let bad = name.is_empty()
        || name.starts_with('.')
        || name.contains(['/', '\\', '\0'])
        || name.chars().any(char::is_control)
        || name.len() > 255;
    if bad {
        return Err((400, format!("{name:?} is not a file name to take")));
    }
    let dest = dir.join(name);
    if files.hides(&dest) {
        return Err((403, format!("{name:?} is a file the server never serves")));
    }
    if dest.is_dir() {
        return Err((409, format!("{name:?} is a folder")));
    }
    Ok(dest)
}

/// Writes `from` to a temporary file beside `dest`, then renames it to `dest`: over a file
/// there only when `overwrite`. `Ok(true)` when a file was replaced.
fn place(dest: &Path, mut from: impl Read, overwrite: bool) -> Result<bool, Refused> {
    let folder = dest.parent().unwrap_or(Path::new("."));
    let failed = |e: io::Error| {
        log::warn!("upload into {}: {e}", folder.display());
        (500, "the file could not be written".to_string())
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".upload-")
        .tempfile_in(folder)
        .map_err(failed)?;
    io::copy(&mut from, temp.as_file_mut()).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    let existed = dest.exists();
    if overwrite {
        temp.persist(dest).map_err(|e| failed(e.error))?;
    } else if let Err(e) = temp.persist_noclobber(dest) {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            return Err((409, "a file of that name exists already".into()));
        }
        return Err(failed(e.error));
    }
    // The rename is durable once the folder is.
    if let Ok(dir) = fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(existed && overwrite)
}
