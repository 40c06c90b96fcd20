//! Your own site on miniweb: the README's quick start, as the crate `tests/quickstart` (it
//! depends on miniweb by path, as a user's crate does from crates.io), built and run from a
//! folder of its own. It gets its routes and nothing of the stock site.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::Site;

/// The quick start's binary, built once (into the workspace's target folder, so that what the
/// tests already built is reused).
fn quickstart() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = common::cargo_build(&["build", "-p", "quickstart"]);
        target.join(format!("quickstart{}", std::env::consts::EXE_SUFFIX))
    })
}

/// The quick start running in a folder that holds only its templates.
fn running() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    let source = common::project().join("tests/quickstart/templates/hello.html");
    std::fs::copy(source, templates.join("hello.html")).unwrap();
    Site::spawn_program(quickstart(), dir, &["0", "--bind", "127.0.0.1"], &[])
        .expect("the quick start starts")
}

#[test]
fn its_routes_answer_and_it_owns_slash() {
    let site = running();
    let home = site.get("/");
    assert_eq!(home.status, 200);
    assert!(home.text().contains("<form"), "{}", home.text());
    assert_eq!(site.get("/hello/world").text(), "<p>Hello, world!</p>\n");
    assert_eq!(
        site.get("/hello/%3Cb%3E").text(),
        "<p>Hello, &lt;b&gt;!</p>\n"
    );
    let echo = site.post_form("/echo", "text=hi+there");
    assert_eq!(
        (echo.status, echo.text().as_str()),
        (200, "you said: hi there\n")
    );
}

#[test]
fn nothing_of_the_stock_site_comes_along() {
    let site = running();
    let stock = ["/index.html", "/center.html", "/healthz", "/css/site.css"];
    common::assert_statuses(&site, &stock, 404);
    for path in stock {
        let resp = site.get(path);
        assert!(!resp.text().contains("选股"), "{path}: {}", resp.text());
    }
    let log = site.log();
    assert!(log.contains("database: none"), "{log}");
    assert!(log.contains("templates: 1 from"), "{log}");
    assert!(log.contains("static files: none"), "{log}");
    let names: Vec<String> = std::fs::read_dir(site.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["templates"],
        "no database or anything else was created"
    );
    let repo_db = common::project().join("tests/quickstart/stock.db");
    assert!(!repo_db.exists());
}

#[test]
fn a_handlers_message_reaches_the_client_without_an_error_template() {
    let site = running();
    let resp = site.post_form("/echo", "other=1");
    assert_eq!(resp.status, 400);
    assert!(
        resp.text().contains("The form has no field `text`."),
        "{}",
        resp.text()
    );
    let missing = site.get("/nothing/here");
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("There is no page at this address."));
}

#[test]
fn its_routes_are_all_that_routes_lists() {
    let out = Command::new(quickstart())
        .args(["--routes"])
        .current_dir(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip_while(|l| !l.starts_with("METHOD"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["GET", "/", "quickstart::home"],
            ["POST", "/echo", "quickstart::echo"],
            ["GET", "/hello/{name}", "quickstart::hello"],
        ],
        "{table}"
    );
}

#[test]
fn the_readme_and_the_crate_docs_show_this_very_program() {
    let main =
        std::fs::read_to_string(common::project().join("tests/quickstart/src/main.rs")).unwrap();
    let readme = std::fs::read_to_string(common::project().join("README.md")).unwrap();
    assert!(
        readme.contains(&main),
        "README.md's quick start differs from tests/quickstart"
    );
    assert!(
        main.lines().count() <= 25,
        "the quick start is at most 25 lines"
    );
    let lib = std::fs::read_to_string(common::project().join("src/lib.rs")).unwrap();
    let docs: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect();
    assert!(
        docs.contains(&main),
        "src/lib.rs's doc example differs from tests/quickstart"
    );
}
