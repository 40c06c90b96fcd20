//! The framework's second application, `examples/notes_board/`, run as its README says and
//! driven with curl: sign in with a cookie jar, post a note with an image, the JSON API, the
//! admin area behind its hook, the board's 404, and uploads that are too large, malformed or
//! not images, which leave nothing behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Site;

const KEY: &str = "notes-board-test-key-0123456789";
const ADMIN: &str = "let-me-in";

/// A tiny PNG: the signature and a header chunk are all the board looks at.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn board() -> Option<Site> {
    if !common::installed("curl", "--version", "curl") {
        return None;
    }
    // The same build as tests/examples.rs, so that the two share it.
    let built = common::cargo_build(&["build", "--examples", "-p", "miniweb", "-p", "course"]);
    let program = built.join("examples").join("notes_board");
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let env = [
        ("MINIWEB_SECRET_KEY", KEY),
        ("NOTES_ADMIN_PASSWORD", ADMIN),
        ("TMPDIR", spool.to_str().unwrap()),
    ];
    Some(Site::spawn_program(&program, dir, &["--bind", "127.0.0.1", "0"], &env).unwrap())
}

/// curl with `args`: the status and the body.
fn curl(site: &Site, args: &[&str], path: &str) -> (u16, String) {
    let (ok, status, body) = curl_may_fail(site, args, path);
    assert!(ok, "curl {args:?} {path} failed");
    (status, body)
}

/// curl with `args`, where curl may fail (a server that answers before the body is sent and
/// stops reading it): whether curl succeeded, the status it saw (0 for none), the body.
fn curl_may_fail(site: &Site, args: &[&str], path: &str) -> (bool, u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .arg(site.url(path))
        .current_dir(site.dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (
        out.status.success(),
        status.trim().parse().unwrap_or(0),
        body.to_string(),
    )
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn write(site: &Site, name: &str, bytes: &[u8]) -> PathBuf {
    let path = site.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_signed_in_user_posts_a_note_with_an_image_and_the_api_and_admin_see_it() {
    let Some(site) = board() else { return };
    let jar = site.dir.path().join("ann.jar");
    let jar = jar.to_str().unwrap();
    let (status, page) = curl(&site, &["-D", "-"], "/");
    assert_eq!(status, 200);
    assert!(
        page.contains("No notes yet") && page.contains("action=\"/login\""),
        "{page}"
    );
    assert!(
        page.to_ascii_lowercase()
            .contains("x-content-type-options: nosniff"),
        "the after-hook"
    );
    // Posting before signing in is refused.
    let (status, _) = curl(&site, &["-F", "text=hi"], "/notes");
    assert_eq!(status, 403);

    assert_eq!(curl(&site, &["-c", jar, "-d", "name=ann"], "/login").0, 303);
    let png = write(&site, "pic.png", PNG);
    let image = format!("image=@{};filename=../../etc/passwd", png.display());
    let (status, _) = curl(
        &site,
        &["-b", jar, "-F", "text=hello board", "-F", &image],
        "/notes",
    );
    assert_eq!(status, 303);
    let (_, page) = curl(&site, &["-b", jar], "/");
    assert!(
        page.contains("<b>ann</b>: hello board") && page.contains("src=\"/img/1.png\""),
        "{page}"
    );
    // The image is a file the server serves, under the name the board chose.
    let out = Command::new("curl")
        .args(["-s", "-D", "-"])
        .arg(site.url("/img/1.png"))
        .output()
        .unwrap();
    assert!(out.stdout.ends_with(PNG), "the image comes back whole");
    assert!(String::from_utf8_lossy(&out.stdout).contains("image/png"));
    assert_eq!(entries(&site.dir.path().join("notes-files/img")), ["1.png"]);
    assert!(!site.dir.path().join("etc").exists());

    // The JSON API: out, and in for a signed-in user only.
    let (status, json) = curl(&site, &[], "/api/notes");
    assert_eq!(status, 200);
    let notes: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(notes["notes"][0]["author"], "ann");
    assert_eq!(notes["notes"][0]["image"], "/img/1.png");
    let json_in = ["-H", "Content-Type: application/json", "--data-binary"];
    let post = |jar: Option<&str>, body: &str| {
        let mut args: Vec<&str> = jar.map_or(vec![], |j| vec!["-b", j]);
        args.extend(json_in);
        args.push(body);
        curl(&site, &args, "/api/notes")
    };
    let (status, made) = post(Some(jar), r#"{"text": "from the API"}"#);
    assert_eq!(status, 201, "{made}");
    assert!(made.contains(r#""author":"ann""#), "{made}");
    assert_eq!(post(None, r#"{"text": "anonymous"}"#).0, 401);
    assert_eq!(post(Some(jar), r#"{"text": 5}"#).0, 400);
    assert_eq!(post(Some(jar), "not json").0, 400);

    // The admin area: shut to ann, open to the admin, who deletes the note and its image.
    assert_eq!(curl(&site, &["-b", jar], "/admin/").0, 303);
    let admin = site.dir.path().join("admin.jar");
    let admin = admin.to_str().unwrap();
    let wrong = format!("name=admin&password={ADMIN}x");
    assert_eq!(curl(&site, &["-c", admin, "-d", &wrong], "/login").0, 403);
    let right = format!("name=admin&password={ADMIN}");
    assert_eq!(curl(&site, &["-c", admin, "-d", &right], "/login").0, 303);
    let (status, page) = curl(&site, &["-b", admin], "/admin/");
    assert_eq!(status, 200);
    assert!(
        page.contains("action=\"/admin/notes/1/delete\""),
        "url_for in the template: {page}"
    );
    assert_eq!(
        curl(&site, &["-b", admin, "-X", "POST"], "/admin/notes/1/delete").0,
        303
    );
    assert!(entries(&site.dir.path().join("notes-files/img")).is_empty());
    assert_eq!(curl(&site, &[], "/img/1.png").0, 404);
}

#[test]
fn the_board_has_its_own_404_page() {
    let Some(site) = board() else { return };
    let (status, page) = curl(&site, &[], "/no/such/page");
    assert_eq!(status, 404);
    assert!(
        page.contains("Nothing at /no/such/page") && page.contains("Back to the board"),
        "{page}"
    );
}

#[test]
fn uploads_too_large_malformed_or_not_images_leave_nothing_behind() {
    let Some(site) = board() else { return };
    let jar = site.dir.path().join("bo.jar");
    let jar = jar.to_str().unwrap();
    assert_eq!(curl(&site, &["-c", jar, "-d", "name=bo"], "/login").0, 303);
    let spool = site.dir.path().join("spool");
    let img = site.dir.path().join("notes-files/img");
    let peak_before = common::peak_memory_kib(site.pid());

    // 50 MB against the 4 MB body limit: refused on its Content-Length, and again when sent
    // chunked, when the server stops reading past the limit.
    let big = write(&site, "big.png", &[PNG, &vec![0u8; 50 << 20]].concat());
    let big_part = format!("image=@{}", big.display());
    let (_, status, _) = curl_may_fail(
        &site,
        &["-b", jar, "-F", "text=big", "-F", &big_part],
        "/notes",
    );
    assert_eq!(status, 413);
    let chunked = [
        "-H",
        "Transfer-Encoding: chunked",
        "-b",
        jar,
        "-F",
        "text=big",
        "-F",
        &big_part,
    ];
    let (_, status, _) = curl_may_fail(&site, &chunked, "/notes");
    assert!(matches!(status, 413 | 0), "refused mid-body ({status})");
    // 3 MB: within the body limit, over the board's 2 MB per file.
    let three = write(&site, "three.png", &[PNG, &vec![1u8; 3 << 20]].concat());
    let three_part = format!("image=@{}", three.display());
    assert_eq!(
        curl(
            &site,
            &["-b", jar, "-F", "text=3", "-F", &three_part],
            "/notes"
        )
        .0,
        413
    );
    // Not an image, whatever its name and claimed type.
    let script = write(&site, "evil.png", b"<script>alert(1)</script>");
    let script_part = format!("image=@{};type=image/png", script.display());
    assert_eq!(
        curl(
            &site,
            &["-b", jar, "-F", "text=x", "-F", &script_part],
            "/notes"
        )
        .0,
        415
    );
    // A boundary that never ends, and a body without its boundary.
    let type_b = "Content-Type: multipart/form-data; boundary=XyZ";
    let endless = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{}",
        "a".repeat(1000)
    );
    let (status, _) = curl(
        &site,
        &["-b", jar, "-H", type_b, "--data-binary", &endless],
        "/notes",
    );
    assert_eq!(status, 400);
    let (status, _) = curl(
        &site,
        &[
            "-b",
            jar,
            "-H",
            "Content-Type: multipart/form-data",
            "--data-binary",
            "x",
        ],
        "/notes",
    );
    assert_eq!(status, 400);

    assert!(
        entries(&spool).is_empty(),
        "temporary files left: {:?}",
        entries(&spool)
    );
    assert!(entries(&img).is_empty(), "files left: {:?}", entries(&img));
    let (_, json) = curl(&site, &[], "/api/notes");
    assert_eq!(json, r#"{"notes":[]}"#, "no note was stored");
    // The upload went to disk, not memory: the peak grew by far less than the 50 MB sent.
    if let (Some(before), Some(after)) = (peak_before, common::peak_memory_kib(site.pid())) {
        assert!(
            after.saturating_sub(before) < 16 * 1024,
            "peak memory grew by {} KiB",
            after.saturating_sub(before)
        );
    }
}

#[test]
fn the_route_table_shows_the_admin_routes_under_their_prefix() {
    let built = common::cargo_build(&["build", "--examples", "-p", "miniweb", "-p", "course"]);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(built.join("examples").join("notes_board"))
        .arg("--routes")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    assert!(
        table.contains("/admin/notes/{id}/delete notes_board::admin::delete"),
        "{table}"
    );
    assert!(table.contains("GET     /admin/ "), "{table}");
}
