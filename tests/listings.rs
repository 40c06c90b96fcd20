//! Directory listings over the wire: off by default, HTML or JSON, escaped, encoded, and
//! never showing dotfiles or symlinks that lead out of the root.

mod common;

use common::Site;

/// A site whose static folder has a folder without an index, full of awkward names.
fn site(args: &[&str]) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("static");
    common::fill_static(&root);
    let files = root.join("files");
    std::fs::create_dir_all(files.join("子目录")).unwrap();
    std::fs::create_dir_all(files.join("a-folder")).unwrap();
    std::fs::write(files.join("<b>&\"x\".txt"), "tricky").unwrap();
    std::fs::write(files.join("报告 2026.txt"), "中文内容").unwrap();
    std::fs::write(files.join("zeta.bin"), vec![0u8; 1536]).unwrap();
    std::fs::write(files.join(".hidden"), "dot").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), files.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path(), files.join("updir")).unwrap();
    std::os::unix::fs::symlink(root.join("hello.txt"), files.join("inside.txt")).unwrap();
    Site::start_with(dir, "", args, &[]).unwrap()
}

#[test]
fn listings_are_off_by_default() {
    let site = site(&[]);
    let r = site.get("/files/");
    assert_eq!(
        r.status, 404,
        "a folder without index.html is the app's path"
    );
    assert!(r.text().contains("选股系统"), "the site's own 404 page");
    assert_eq!(site.get("/files").status, 404);
    assert_eq!(site.get("/files/inside.txt").text(), "hello, world\n");
}

#[test]
fn a_folder_is_listed_as_html_folders_first_names_escaped() {
    let site = site(&["--autoindex"]);
    let r = site.get("/files");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/files/"));
    let r = site.get("/files/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("Vary"), Some("Accept"));
    let page = r.text();
    assert!(
        page.contains("<link rel=\"stylesheet\" href=\"/css/site.css\">"),
        "{page}"
    );
    assert!(page.contains("&lt;b&gt;&amp;&quot;x&quot;.txt"), "{page}");
    assert!(page.contains("href=\"%3Cb%3E%26%22x%22.txt\""), "{page}");
    assert!(!page.contains("<b>&"), "{page}");
    assert!(
        page.contains("href=\"%E6%8A%A5%E5%91%8A%202026.txt\">报告 2026.txt</a>"),
        "{page}"
    );
    assert!(page.contains("href=\"../\""));
    assert!(page.contains("1.5 KiB"));
    for hidden in [".hidden", "escape.txt", "updir", "secret"] {
        assert!(!page.contains(hidden), "{hidden} shown:\n{page}");
    }
    // Folders first, each group by name.
    let order: Vec<usize> = [
        "a-folder/",
        "子目录/",
        "&lt;b&gt;",
        "inside.txt",
        "zeta.bin",
    ]
    .iter()
    .map(|name| {
        page.find(name)
            .unwrap_or_else(|| panic!("{name} missing:\n{page}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}\n{page}");
    // Every link leads somewhere real.
    assert_eq!(site.get("/files/%3Cb%3E%26%22x%22.txt").text(), "tricky");
    assert_eq!(
        site.get("/files/%E6%8A%A5%E5%91%8A%202026.txt").text(),
        "中文内容"
    );
    assert_eq!(site.get("/files/%E5%AD%90%E7%9B%AE%E5%BD%95/").status, 200);
    // The hidden ones stay unreachable.
    assert_eq!(site.get("/files/escape.txt").status, 404);
    assert_eq!(site.get("/files/updir/").status, 404);
    assert_eq!(site.get("/files/.hidden").status, 404);
}

#[test]
fn a_folder_is_listed_as_json_when_asked() {
    let site = site(&["--autoindex"]);
    let r = site.request("GET", "/files/", &[("Accept", "application/json")], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["path"], "/files/");
    let entries = json["entries"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "a-folder",
            "子目录",
            "<b>&\"x\".txt",
            "inside.txt",
            "zeta.bin",
            "报告 2026.txt"
        ]
    );
    assert_eq!(entries[0]["type"], "dir");
    assert!(entries[0].get("size").is_none());
    assert_eq!(entries[4]["type"], "file");
    assert_eq!(entries[4]["size"], 1536);
    let modified = entries[4]["modified"].as_str().unwrap();
    assert!(
        modified.ends_with('Z') && modified.len() == 20,
        "{modified}"
    );
    // A browser's Accept gets the page.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let r = site.request("GET", "/files/", &[("Accept", browser)], b"");
    assert!(r.text().starts_with("<!DOCTYPE html>"));
}

#[test]
fn the_config_key_turns_listings_on_too() {
    let dir = tempfile::tempdir().unwrap();
    common::fill_static(&dir.path().join("static"));
    std::fs::create_dir(dir.path().join("static/empty")).unwrap();
    let site = Site::start_in(dir, "autoindex = true\nautoindex_stylesheet = \"\"\n").unwrap();
    let page = site.get("/empty/").text();
    assert!(page.contains("<h1>Index of /empty/</h1>"), "{page}");
    assert!(page.contains("<style>"), "{page}");
}
