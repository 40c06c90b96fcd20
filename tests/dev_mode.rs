//! Dev mode (`--dev`) on the real binary: templates reloaded when their files change, no page
//! cache, error pages with the cause, and a 404 that explains the routes; and none of it
//! without `--dev`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{fill_static, project, Site};

/// A site whose templates are a copy the test may edit, started with `args`.
fn site_with_own_templates(args: &[&str]) -> Site {
    let dir = tempfile::tempdir().unwrap();
    fill_static(&dir.path().join("static"));
    let templates = dir.path().join("templates");
    copy_dir(&project().join("templates"), &templates);
    let extra = format!("templates_dir = {templates:?}\n");
    Site::start_with(dir, &extra, args, &[]).expect("server starts")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn edit(site: &Site, template: &str, from: &str, to: &str) {
    let path = site.dir.path().join("templates").join(template);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{template} has no {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn dev_mode_reloads_an_edited_template_on_the_next_request() {
    let site = site_with_own_templates(&["--dev"]);
    assert!(site.wait_for_log("dev mode", Duration::from_secs(5)));
    let first = site.get("/index.html");
    assert!(first.text().contains("<h1>股票信息</h1>"));
    assert!(first.header("Server-Timing").unwrap().contains("render"));
    assert!(
        !first.header("Server-Timing").unwrap().contains("cache"),
        "page cache is off"
    );

    edit(
        &site,
        "index.html",
        "<h1>股票信息</h1>",
        "<h1>全部股票</h1>",
    );
    assert!(site.get("/index.html").text().contains("<h1>全部股票</h1>"));

    // A template saved half-written: every page says what is wrong, and the fix is seen.
    edit(
        &site,
        "base.html",
        "{% block content %}",
        "{% block content",
    );
    let broken = site.get("/center.html");
    assert_eq!(broken.status, 500);
    assert!(broken.text().contains("base.html"), "{}", broken.text());
    edit(
        &site,
        "base.html",
        "{% block content",
        "{% block content %}",
    );
    assert_eq!(site.get("/center.html").status, 200);
}

#[test]
fn without_dev_mode_templates_are_compiled_once_and_nothing_inside_is_shown() {
    let site = site_with_own_templates(&[]);
    edit(
        &site,
        "index.html",
        "<h1>股票信息</h1>",
        "<h1>全部股票</h1>",
    );
    let page = site.get("/index.html").text();
    assert!(page.contains("<h1>股票信息</h1>"));
    let missing = site.get("/index.htm").text();
    assert!(!missing.contains("开发模式") && !missing.contains("miniweb::stocks"));
    let unknown = site.get("/update/999999.html").text();
    assert!(!unknown.contains("开发模式"));
}

#[test]
fn dev_mode_404_lists_the_routes_closest_first_and_errors_show_their_cause() {
    let site = site_with_own_templates(&["--dev"]);
    let page = site.get("/index.htm");
    assert_eq!(page.status, 404);
    let text = page.text();
    assert!(
        text.contains("最接近的是 <code>GET /index.html</code>（miniweb::stocks::index）：segment 1 is “index.htm”, the pattern has “index.html”。"),
        "{text}"
    );
    // Every route is listed with its reason.
    for handler in [
        "index",
        "center",
        "add",
        "del",
        "edit_note",
        "save_note",
        "healthz",
        "home",
    ] {
        assert!(
            text.contains(&format!("<code>miniweb::stocks::{handler}</code>")),
            "{handler}"
        );
    }
    // The method is the reason when the path fits a route of another method.
    let wrong_method = site.get("/add/000007.html/x").text();
    assert!(
        wrong_method.contains("the path goes on past the 2 segments of the pattern: “/x” is left"),
        "{wrong_method}"
    );
    let suffix = site.request("POST", "/add/000007.htm", &[], b"").text();
    assert!(
        suffix.contains("segment 2 “000007.htm” does not end with “.html”"),
        "{suffix}"
    );

    // A handler's error shows its cause under the public message.
    let unknown = site.get("/update/999999.html").text();
    assert!(unknown.contains("<h2>原因（开发模式）</h2>"));
    assert!(unknown.contains("<pre>404 股票 999999 还没有关注。</pre>"));
    // The database gone: the page says what SQLite said.
    let db = site.dir.path().join("stock.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("ALTER TABLE focus RENAME TO focus_gone")
        .unwrap();
    let failed = site.get("/center.html");
    assert_eq!(failed.status, 500);
    assert!(
        failed.text().contains("no such table: focus"),
        "{}",
        failed.text()
    );
}
