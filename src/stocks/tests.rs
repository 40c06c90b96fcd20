//! The stock site's handlers through the in-process test client: every action's status, the
//! notes' round trip and escaping, the form's limits, the one-time message. No socket: what
//! the wire adds (restarts, concurrent writers, the access log, files first) is tested in
//! `tests/stock_site.rs` against the real binary.

use miniweb::test_client::{Client, TestResponse};

/// The site on a fresh database of its own, seeded by its migrations.
fn client() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stock.db");
    let settings = format!("database = {:?}\n", db.display().to_string());
    let framework = crate::site().framework(&settings).unwrap();
    (dir, Client::new(framework))
}

fn post(c: &mut Client, path: &str, form: &str) -> TestResponse {
    c.request("POST", path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
}

/// The codes of the centre's rows (each has a delete form).
fn followed(c: &mut Client) -> Vec<String> {
    c.get("/center.html")
        .text()
        .split("action=\"/del/")
        .skip(1)
        .map(|s| s[..6].to_string())
        .collect()
}

#[test]
fn the_centre_shows_the_five_seeded_stocks_with_their_notes() {
    let (_d, mut c) = client();
    assert_eq!(followed(&mut c).len(), 5);
    let page = c.get("/center.html").text();
    assert!(page.contains("你确定要买这个？") && page.contains("利好"));
    assert_eq!(
        page.matches("href=\"/update/").count(),
        5,
        "url_for wrote the links"
    );
}

#[test]
fn follow_and_unfollow_answer_each_case_with_its_status() {
    let (_d, mut c) = client();
    assert_eq!(post(&mut c, "/add/999999.html", "").status, 404);
    assert_eq!(post(&mut c, "/add/abc.html", "").status, 404);
    assert_eq!(
        post(&mut c, "/add/000007.html", "").status,
        409,
        "seeded as followed"
    );
    let r = post(&mut c, "/add/000036.html", "");
    assert_eq!(
        (r.status, r.header("Location")),
        (303, Some("/center.html"))
    );
    assert!(followed(&mut c).contains(&"000036".to_string()));
    assert_eq!(post(&mut c, "/add/000036.html", "").status, 409);
    assert_eq!(post(&mut c, "/del/999999.html", "").status, 404);
    assert_eq!(post(&mut c, "/del/000036.html", "").status, 303);
    assert_eq!(post(&mut c, "/del/000036.html", "").status, 409);
    assert!(!followed(&mut c).contains(&"000036".to_string()));
}

#[test]
fn state_changes_are_post_only() {
    let (_d, mut c) = client();
    for path in ["/add/000036.html", "/del/000007.html"] {
        let r = c.get(path);
        assert_eq!(r.status, 405, "{path}");
        assert!(r.header("Allow").unwrap().contains("POST"));
        assert!(r.text().contains("405"), "the site's error page");
    }
    assert_eq!(followed(&mut c).len(), 5, "a GET changed something");
    assert_eq!(c.get("/nope.html").status, 404);
}

#[test]
fn notes_round_trip_verbatim_and_are_shown_escaped() {
    let (dir, mut c) = client();
    assert_eq!(c.get("/update/000036.html").status, 404, "not followed yet");
    assert_eq!(post(&mut c, "/add/000036.html", "").status, 303);
    assert!(c
        .get("/update/000036.html")
        .text()
        .contains("name=\"note\""));
    let hostile = "利好 \"quoted\" <script>alert(1)</script> '); DROP TABLE focus;--";
    let encoded =
        percent_encoding::utf8_percent_encode(hostile, percent_encoding::NON_ALPHANUMERIC);
    let r = post(&mut c, "/update/000036.html", &format!("note={encoded}"));
    assert_eq!(
        (r.status, r.header("Location")),
        (303, Some("/center.html"))
    );
    let page = c.get("/center.html").text();
    assert!(!page.contains("<script>alert(1)</script>"), "escaped");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("利好 &quot;quoted&quot;"));
    assert_eq!(followed(&mut c).len(), 6, "the focus table survived");
    let conn = rusqlite::Connection::open(dir.path().join("stock.db")).unwrap();
    let stored: String = conn
        .query_row(
            "SELECT note_info FROM focus JOIN info ON info.id = focus.info_id WHERE code = '000036'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, hostile, "stored verbatim");
}

#[test]
fn note_limits_and_form_errors_are_400() {
    let (_d, mut c) = client();
    let note = |n: usize| format!("note={}", "好".repeat(n));
    assert_eq!(post(&mut c, "/update/000007.html", &note(200)).status, 303);
    assert_eq!(post(&mut c, "/update/000007.html", &note(201)).status, 400);
    assert_eq!(post(&mut c, "/update/000007.html", "note=%FF").status, 400);
    assert_eq!(post(&mut c, "/update/000007.html", "other=1").status, 400);
    assert_eq!(post(&mut c, "/update/999999.html", "note=x").status, 404);
    let json = c
        .request("POST", "/update/000007.html")
        .header("Content-Type", "application/json")
        .body("{\"note\":\"x\"}")
        .send();
    assert_eq!(json.status, 415);
    assert_eq!(
        post(&mut c, "/update/000007.html", "note=a+b").status,
        303,
        "`+` is a space"
    );
    assert!(c.get("/center.html").text().contains(">a b<"));
}

#[test]
fn the_home_page_marks_followed_stocks_and_follows_a_write() {
    let (_d, mut c) = client();
    let codes = followed(&mut c);
    let page = c.get("/index.html").text();
    assert_eq!(page.matches(">已关注</a>").count(), codes.len());
    assert!(page.contains("action=\"/add/000036.html\""));
    assert_eq!(post(&mut c, "/add/000036.html", "").status, 303);
    let page = c.get("/index.html").text();
    assert!(
        !page.contains("action=\"/add/000036.html\""),
        "the cached page changed"
    );
    let json: serde_json::Value = c
        .request("GET", "/index.html")
        .header("Accept", "application/json")
        .send()
        .json();
    let s36 = json["stocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "000036");
    assert_eq!(s36.unwrap()["followed"], true);
}
