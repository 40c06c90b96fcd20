//! The stock site against the real binary and a temporary database, where the wire matters:
//! pages over the real server, cross-site posts, persistence and restarts, migrations,
//! concurrent writers, the page cache's validators, files first, the access log, the flash
//! cookie. The handlers' own cases (every action's status, notes, form limits) go through
//! the in-process test client, in `src/stocks/tests.rs`.

mod common;

use std::thread;

use common::{run_binary, site, site_with, Site};

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Rows in the centre's table (each has a delete form).
fn followed_codes(site: &Site) -> Vec<String> {
    let page = site.get("/center.html").text();
    page.split("action=\"/del/")
        .skip(1)
        .map(|s| s[..6].to_string())
        .collect()
}

#[test]
fn the_index_shows_all_94_stocks_with_exact_values() {
    let site = site();
    for path in ["/", "/index.html"] {
        let r = site.get(path);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        let page = r.text();
        let rows = count(&page, "action=\"/add/") + count(&page, ">已关注</a>");
        assert_eq!(rows, 94, "{path}");
        assert!(page.contains("选股系统"));
        for cell in [
            "000007",
            "全新好",
            "10.01%",
            "4.40%",
            "16.05",
            "14.60",
            "2017-07-18",
            "*ST松江",
        ] {
            assert!(page.contains(cell), "{cell} missing");
        }
        // Negative changes are styled apart from positive ones.
        assert!(
            page.contains("class=\"down\">-"),
            "no negative change marked down"
        );
        assert!(page.contains("class=\"up\">10.01%"));
    }
}

#[test]
fn cross_site_posts_are_refused_and_change_nothing() {
    let site = site();
    let r = site.request(
        "POST",
        "/add/000036.html",
        &[("Origin", "http://evil.example")],
        b"",
    );
    assert_eq!(r.status, 403);
    let r = site.request(
        "POST",
        "/del/000007.html",
        &[("Referer", "http://evil.example/page.html")],
        b"",
    );
    assert_eq!(r.status, 403);
    for headers in [
        &[("Sec-Fetch-Site", "cross-site")][..],
        &[("Sec-Fetch-Site", "same-site"), ("Origin", "http://a.test")],
        &[("Origin", "https://test")],
        &[("Origin", "http://test:8080")],
        &[("Origin", "null")],
    ] {
        let r = site.request("POST", "/del/000007.html", headers, b"");
        assert_eq!(r.status, 403, "{headers:?}");
    }
    assert_eq!(followed_codes(&site).len(), 5);
    // A misconfigured proxy is easy to see: the log names both origins.
    assert!(
        site.wait_for_log(
            "sent from http://evil.example:80, this site is http://test:80",
            std::time::Duration::from_secs(5)
        ),
        "{}",
        site.log()
    );
    // The site's own forms pass, by Sec-Fetch-Site or by Origin.
    let r = site.request(
        "POST",
        "/add/000036.html",
        &[("Origin", "http://test")],
        b"",
    );
    assert_eq!(r.status, 303);
    let r = site.request(
        "POST",
        "/del/000036.html",
        &[("Sec-Fetch-Site", "same-origin"), ("Origin", "http://test")],
        b"",
    );
    assert_eq!(r.status, 303);
}

#[test]
fn a_clean_exit_leaves_every_write_in_the_database_file_alone() {
    let site = site();
    assert_eq!(site.post_form("/add/000036.html", "").status, 303);
    assert_eq!(
        site.post_form("/update/000036.html", "note=kept").status,
        303
    );
    let dir = site.stop();
    let wal = dir.path().join("stock.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL was checkpointed and emptied");
    // Only the main file, copied elsewhere, holds the writes.
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("stock.db"), copy.path().join("stock.db")).unwrap();
    let db = rusqlite::Connection::open(copy.path().join("stock.db")).unwrap();
    let note: String = db
        .query_row(
            "SELECT f.note_info FROM focus f JOIN info i ON i.id = f.info_id WHERE i.code = '000036'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(note, "kept");
}

#[test]
fn data_survives_a_restart_and_migrations_apply_once() {
    let site = site();
    assert!(site.log().contains("applied migration"));
    assert_eq!(site.post_form("/add/000036.html", "").status, 303);
    let dir = site.stop();
    let site = Site::start_in(dir, "").unwrap();
    assert!(followed_codes(&site).contains(&"000036".to_string()));
    assert!(!site.log().contains("applied migration"), "{}", site.log());
    let conn = rusqlite::Connection::open(site.dir.path().join("stock.db")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 2);
    let stocks: i64 = conn
        .query_row("SELECT count(*) FROM info", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stocks, 94);
}

#[test]
fn a_broken_migration_stops_start_up_and_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap();
    for f in ["0001_schema.sql", "0002_seed.sql"] {
        std::fs::copy(
            common::project().join("migrations").join(f),
            migrations.join(f),
        )
        .unwrap();
    }
    std::fs::write(
        migrations.join("0003_broken.sql"),
        "CREATE TABLE extra (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("static")).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "host = \"127.0.0.1\"\nport = 0\ntemplates_dir = {:?}\n",
            common::project().join("templates")
        ),
    )
    .unwrap();
    let (code, _, err) = run_binary(dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("0003_broken.sql"), "{err}");
    assert!(
        !err.contains("listening"),
        "must fail before listening: {err}"
    );
    let conn = rusqlite::Connection::open(dir.path().join("stock.db")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version, 2,
        "the broken file must leave the database as it was"
    );
    let extra: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'extra'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(extra, 0);
}

#[test]
fn eight_concurrent_writers_lose_nothing_and_never_see_locked() {
    let site = site();
    // Stocks 000036.. are not followed in the seed; take eight of them from the index.
    let index = site.get("/index.html").text();
    let seeded = followed_codes(&site);
    let codes: Vec<String> = index
        .split("action=\"/add/")
        .skip(1)
        .map(|s| s[..6].to_string())
        .filter(|c| !seeded.contains(c))
        .take(8)
        .collect();
    assert_eq!(codes.len(), 8);
    let rounds = 15;
    thread::scope(|scope| {
        for code in &codes {
            let site = &site;
            scope.spawn(move || {
                for _ in 0..rounds {
                    assert_eq!(site.post_form(&format!("/add/{code}.html"), "").status, 303);
                    assert_eq!(site.post_form(&format!("/del/{code}.html"), "").status, 303);
                }
                assert_eq!(site.post_form(&format!("/add/{code}.html"), "").status, 303);
            });
        }
    });
    let after = followed_codes(&site);
    assert_eq!(after.len(), 5 + 8, "{after:?}");
    for code in &codes {
        assert!(after.contains(code), "{code} lost");
    }
    let log = site.log();
    assert!(!log.contains("locked") && !log.contains("busy"), "{log}");
}

#[test]
fn the_route_table_is_printed_like_flask_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run_binary(dir.path(), &["--routes"]);
    assert_eq!(code, 0);
    for line in [
        "GET     /index.html",
        "GET     /center.html",
        "POST    /add/{code}.html",
        "POST    /del/{code}.html",
        "GET     /update/{code}.html",
        "POST    /update/{code}.html",
    ] {
        assert!(out.contains(line), "{line} missing from\n{out}");
    }
    assert!(out.contains("miniweb::stocks::add"));
}

#[test]
fn pages_are_cached_until_a_write_and_reload_is_304() {
    let site = site();
    let first = site.get("/center.html");
    let etag = first
        .header("ETag")
        .expect("pages carry an ETag")
        .to_string();
    let again = site.request("GET", "/center.html", &[("If-None-Match", &etag)], b"");
    assert_eq!(again.status, 304);
    assert_eq!(site.post_form("/add/000036.html", "").status, 303);
    let after = site.request("GET", "/center.html", &[("If-None-Match", &etag)], b"");
    assert_eq!(after.status, 200, "a write must change the page");
    assert!(after.text().contains("000036"));
    // A write by another process is seen too.
    let conn = rusqlite::Connection::open(site.dir.path().join("stock.db")).unwrap();
    conn.execute(
        "DELETE FROM focus WHERE info_id = (SELECT id FROM info WHERE code = '000036')",
        [],
    )
    .unwrap();
    assert!(!followed_codes(&site).contains(&"000036".to_string()));
}

#[test]
fn the_page_cache_can_be_switched_off() {
    let site = common::site_with("page_cache = false\n");
    let first = site.get("/center.html");
    assert_eq!(first.status, 200);
    let etag = first.header("ETag").unwrap().to_string();
    assert_eq!(
        site.request("GET", "/center.html", &[("If-None-Match", &etag)], b"")
            .status,
        304
    );
}

#[test]
fn healthz_answers_ok_only_while_the_database_answers() {
    let site = site();
    let r = site.get("/healthz");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ok\n");
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("Cache-Control"), Some("no-store"));
    // Break the database under the running server: the probe must notice, not a cache.
    let db = rusqlite::Connection::open(site.dir.path().join("stock.db")).unwrap();
    db.execute_batch("ALTER TABLE info RENAME TO info_gone")
        .unwrap();
    let r = site.get("/healthz");
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "unavailable\n");
    assert!(site.wait_for_log("health check", std::time::Duration::from_secs(5)));
    db.execute_batch("ALTER TABLE info_gone RENAME TO info")
        .unwrap();
    assert_eq!(site.get("/healthz").status, 200);
}

#[test]
fn a_static_file_shadows_a_route_and_both_routes_and_the_log_say_so() {
    let dir = tempfile::tempdir().unwrap();
    common::fill_static(&dir.path().join("static"));
    std::fs::write(dir.path().join("static/index.html"), "<p>a static home</p>").unwrap();
    let (code, out, _) = run_binary(dir.path(), &["--routes"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Files first:"), "{out}");
    assert!(
        out.contains("warning: route GET /index.html (miniweb::stocks::index) is shadowed"),
        "{out}"
    );
    assert!(
        !out.contains("/center.html (miniweb::stocks::center) is shadowed"),
        "{out}"
    );
    let site = Site::start_in(dir, "").unwrap();
    assert_eq!(site.get("/index.html").text(), "<p>a static home</p>");
    // `/` has an index file now, so the folder's index wins there too.
    assert_eq!(site.get("/").text(), "<p>a static home</p>");
    assert!(site.get("/center.html").text().contains("个人中心"));
    assert!(site
        .log()
        .contains("route GET /index.html (miniweb::stocks::index) is shadowed"));
}

#[test]
fn a_files_errors_are_the_servers_and_a_missing_file_is_the_sites_chinese_404() {
    let site = site();
    // What a file refuses is the server's answer on its own page, as nginx's in front of an
    // app: the app is not asked.
    let r = site.request("DELETE", "/hello.txt", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD, OPTIONS"));
    assert!(r.text().contains("405 Method Not Allowed"), "{}", r.text());
    assert!(!r.text().contains("/css/site.css"), "{}", r.text());
    let r = site.request("GET", "/hello.txt", &[("Range", "bytes=500-")], b"");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("Content-Range"), Some("bytes */13"));
    assert!(
        r.text().contains("416 Range Not Satisfiable"),
        "{}",
        r.text()
    );
    // A path that names no file is the app's, and so is its 404.
    let r = site.get("/no/such/file.css");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("<h1>404 页面不存在</h1>"), "{}", r.text());
    assert!(r.text().contains("没有这个页面。"), "{}", r.text());
}

#[test]
fn pages_are_also_json_and_csv_by_accept_or_format() {
    let site = site();
    let html = site.get("/index.html");
    assert_eq!(html.header("Vary"), Some("Accept, Accept-Encoding"));
    assert!(html.text().contains("<table"));

    let json = site.request("GET", "/index.html", &[("Accept", "application/json")], b"");
    assert_eq!(json.status, 200);
    assert_eq!(json.header("Content-Type"), Some("application/json"));
    let value: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    let stocks = value["stocks"].as_array().unwrap();
    assert_eq!(stocks.len(), 94);
    assert_eq!(stocks[0]["code"], "000007");
    let fields: Vec<&str> = stocks[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields[..3], ["code", "short", "chg"], "the struct's order");

    for (target, accept) in [
        ("/index.html", "text/csv"),
        ("/index.html?format=csv", "text/html"),
    ] {
        let csv = site.request("GET", target, &[("Accept", accept)], b"");
        assert_eq!(csv.status, 200, "{target}");
        assert_eq!(
            csv.header("Content-Type"),
            Some("text/csv; charset=utf-8; header=present")
        );
        assert_eq!(csv.header("Transfer-Encoding"), Some("chunked"), "streamed");
        let text = csv.text();
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert!(
            lines[0].starts_with("\u{feff}code,short,chg,"),
            "{}",
            lines[0]
        );
        assert_eq!(lines.len(), 95);
        assert!(lines[1].starts_with("000007,"), "{}", lines[1]);
    }

    // A note that looks like a formula, with a comma and quotes, comes out defused and quoted.
    assert_eq!(site.post_form("/add/000036.html", "").status, 303);
    let note = "=HYPERLINK(\"http://evil\",\"点我\"), 好";
    let form = format!(
        "note={}",
        percent_encoding::utf8_percent_encode(note, percent_encoding::NON_ALPHANUMERIC)
    );
    assert_eq!(site.post_form("/update/000036.html", &form).status, 303);
    let csv = site
        .request("GET", "/center.html?format=csv", &[], b"")
        .text();
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"点我\"\"), 好\""),
        "{csv}"
    );

    // Nothing acceptable: 406 on the site's page.
    let r = site.request("GET", "/center.html", &[("Accept", "image/png")], b"");
    assert_eq!(r.status, 406);
    assert!(r.text().contains("406"), "{}", r.text());
    assert_eq!(
        site.request("GET", "/index.html?format=xml", &[], b"")
            .status,
        406
    );

    // The cache keeps each representation apart.
    let json_again = site.request("GET", "/index.html", &[("Accept", "application/json")], b"");
    assert_eq!(json_again.header("Content-Type"), Some("application/json"));
    assert!(site.get("/index.html").text().contains("<table"));
}

#[test]
fn server_timing_tells_where_the_time_went_and_the_access_log_repeats_it() {
    let site = site();
    let first = site.get("/center.html");
    let timing = first
        .header("Server-Timing")
        .expect("Server-Timing")
        .to_string();
    assert!(timing.contains("db;dur="), "{timing}");
    assert!(timing.contains("render;dur="), "{timing}");
    assert!(timing.ends_with("cache;desc=miss"), "{timing}");
    let again = site.get("/center.html");
    let hit = again.header("Server-Timing").unwrap();
    assert!(
        hit.ends_with("cache;desc=hit") && !hit.contains("render"),
        "{hit}"
    );
    // Each request had its own connection and thread: wait for the line wanted, not the last.
    assert!(site.wait_for_log("cache;desc=miss\"", std::time::Duration::from_secs(5)));
    let out = site.stdout();
    let line = out
        .lines()
        .find(|l| l.contains("cache;desc=miss"))
        .expect("logged");
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(line.ends_with(&format!(" \"{timing}\"")), "{line}");
    // Files are the server's: no app phases to tell.
    assert_eq!(site.get("/hello.txt").header("Server-Timing"), None);

    let quiet = site_with("server_timing = false\n");
    assert_eq!(quiet.get("/center.html").header("Server-Timing"), None);
}

/// The SVG of the page's `<figure class="chart…">`, up to its `</svg>`.
fn chart(page: &str) -> &str {
    let start = page.find("<figure class=\"chart").expect("no chart");
    let end = start + page[start..].find("</figure>").expect("chart not closed");
    &page[start..end]
}

#[test]
fn the_home_page_charts_the_days_changes_with_a_text_alternative() {
    let site = site();
    let page = site.get("/index.html").text();
    let svg = chart(&page);
    assert!(
        page.find("<figure class=\"chart") < page.find("<table"),
        "chart above the table"
    );
    assert!(svg.contains("role=\"img\"") && svg.contains("<title"));
    // The seed: 4 stocks at the limit up, 1 at the limit down, 93 up and 1 down in all.
    assert_eq!(count(svg, "<rect "), 9, "one bar per band");
    assert!(
        svg.contains(">4</text>\n    <text class=\"band\" x=\"408.0\" y=\"190.0\">涨停</text>"),
        "{svg}"
    );
    assert!(svg.contains("涨停 4 家"), "the description names each band");
    assert!(svg.contains("上涨 93 家，下跌 1 家，平盘 0 家。"));
    assert_eq!(count(svg, "<rect class=\"up\""), 4);
    assert_eq!(count(svg, "<rect class=\"down\""), 4);
    // The data's representations carry the rows only.
    let json = site
        .request("GET", "/index.html", &[("Accept", "application/json")], b"")
        .text();
    assert!(!json.contains("bands") && !json.contains("\"change\""));
}

#[test]
fn the_centre_charts_each_followed_stock_red_up_green_down() {
    let site = site();
    let page = site.get("/center.html").text();
    let svg = chart(&page);
    assert_eq!(count(svg, "<rect "), 5, "one bar per followed stock");
    assert_eq!(count(svg, "<rect class=\"down\""), 1, "{svg}");
    assert!(svg.contains("万福生科 跌 10.00%"));
    assert!(svg.contains("全新好 涨 10.01%"));
    // Following one more adds its bar.
    assert_eq!(site.post_form("/add/000036.html", "").status, 303);
    let page = site.get("/center.html").text();
    assert_eq!(count(chart(&page), "<rect class=\"up\""), 5);
    assert!(chart(&page).contains("华联控股 涨 10.04%"));
    // With nothing followed there is no chart, only the way to the list.
    for code in followed_codes(&site) {
        assert_eq!(site.post_form(&format!("/del/{code}.html"), "").status, 303);
    }
    let page = site.get("/center.html").text();
    assert!(!page.contains("<svg") && page.contains("还没有关注任何股票"));
}

/// A form post as a browser sends it from `page` of this site.
fn browser_post(site: &Site, path: &str, form: &str, page: &str) -> common::Resp {
    let referer = format!("http://test{page}");
    site.request(
        "POST",
        path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Sec-Fetch-Site", "same-origin"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Referer", &referer),
        ],
        form.as_bytes(),
    )
}

#[test]
fn a_failed_action_sends_the_browser_back_with_a_message_shown_once() {
    let site = site();
    // Warm the page cache, so that the message must not come from it or go into it.
    let plain = site.get("/index.html").text();
    let r = browser_post(&site, "/add/000007.html", "", "/index.html");
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("Location"), Some("/index.html"));
    let cookie = r
        .header("Set-Cookie")
        .expect("no message cookie")
        .to_string();
    let pair = cookie.split(';').next().unwrap().to_string();

    let shown = site.request("GET", "/index.html", &[("Cookie", &pair)], b"");
    assert_eq!(shown.status, 200);
    let page = shown.text();
    assert!(
        page.contains("<p class=\"flash\" role=\"status\">股票 000007 已经关注过了。</p>"),
        "{page}"
    );
    assert_eq!(shown.header("Cache-Control"), Some("no-store"));
    let cleared = shown.header("Set-Cookie").unwrap();
    assert!(cleared.starts_with("miniweb_flash=;") && cleared.contains("Max-Age=0"));
    assert!(shown.header("ETag").is_none());

    // Shown once: the next view, and everyone else's, is the plain page.
    let after = site.get("/index.html");
    assert_eq!(after.text(), plain);
    assert!(after.header("Set-Cookie").is_none());

    // A note too long for the form goes back to the form, which says why.
    let long = format!("note={}", "长".repeat(201));
    let r = browser_post(&site, "/update/000007.html", &long, "/update/000007.html");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("Location"), Some("/update/000007.html"));
    // Without a Referer it goes home; curl still gets the status.
    let r = site.request(
        "POST",
        "/del/999999.html",
        &[("Sec-Fetch-Mode", "navigate")],
        b"",
    );
    assert_eq!((r.status, r.header("Location")), (303, Some("/")));
    assert_eq!(site.post_form("/add/000007.html", "").status, 409);
}
