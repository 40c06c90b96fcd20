//! What a Flask user expects of the framework, through the in-process test client and, where
//! the wire matters (cookies, sessions), through the real server with curl: cookies, signed
//! sessions, JSON bodies, hooks, error handlers, `url_for`, routes under a prefix.

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use miniweb::framework::{Error, Framework, Router};
use miniweb::http::{Cookie, Response, SameSite};
use miniweb::prelude::*;
use miniweb::test_client::Client;
use serde::Deserialize;
use sha2::Sha256;

const KEY: &str = "a-test-key-long-enough-to-sign";

// --- the app under test -------------------------------------------------------------------

#[route("/")]
fn home(cx: &Ctx) -> Result<Response, Error> {
    let who: Option<String> = cx.session()?.get("user");
    Ok(Response::text(
        200,
        format!("home of {}", who.as_deref().unwrap_or("nobody")),
    ))
}

#[route("/login", method = "POST")]
fn login(cx: &Ctx) -> Result<Response, Error> {
    let form = cx.form()?;
    let user = form.field("user")?;
    cx.session()?.insert("user", user)?;
    Ok(Response::redirect(303, &cx.url_for("home", &[])?))
}

#[route("/logout", method = "POST")]
fn logout(cx: &Ctx) -> Result<Response, Error> {
    cx.session()?.clear();
    Ok(Response::redirect(303, "/"))
}

#[route("/theme")]
fn theme(cx: &Ctx) -> Result<Response, Error> {
    let asked = cx.req.query.strip_prefix("set=").unwrap_or("");
    let resp = Response::text(
        200,
        format!("theme was {}", cx.cookie("theme").unwrap_or("none")),
    );
    if asked.is_empty() {
        return Ok(resp);
    }
    // A value from the client goes into a cookie: one that would break the header is refused.
    let value = percent_encoding::percent_decode_str(asked)
        .decode_utf8_lossy()
        .into_owned();
    let cookie = Cookie::new("theme", &value)?
        .max_age(Duration::from_secs(3600))
        .same_site(SameSite::Strict);
    Ok(resp.with_cookie(&cookie))
}

#[derive(Deserialize)]
struct Note {
    title: String,
    stars: u8,
}

#[route("/api/notes", method = "POST")]
fn add_note(cx: &Ctx) -> Result<Response, Error> {
    let note: Note = cx.json()?;
    Ok(Response::text(
        201,
        format!("{} ({} stars)", note.title, note.stars),
    ))
}

#[route("/boom")]
fn boom(_: &Ctx) -> Result<Response, Error> {
    panic!("secret internals that must not leak");
}

#[route("/links/{code}")]
fn links(cx: &Ctx) -> Result<Response, Error> {
    let mut page = tera::Context::new();
    page.insert("code", cx.param("code")?);
    cx.render("links.html", &page)
}

#[route("/broken-link")]
fn broken_link(cx: &Ctx) -> Result<Response, Error> {
    cx.render("broken.html", &tera::Context::new())
}

/// The admin area, mounted under `/admin`.
mod admin {
    use super::*;

    #[route("/")]
    fn dashboard(cx: &Ctx) -> Result<Response, Error> {
        let user: String = cx.session()?.get("user").unwrap_or_default();
        Ok(Response::text(200, format!("dashboard for {user}")))
    }

    #[route("/notes/{id}/delete", method = "POST")]
    fn delete(cx: &Ctx) -> Result<Response, Error> {
        Ok(Response::text(200, format!("deleted {}", cx.param("id")?)))
    }
}

fn require_login(cx: &Ctx) -> Result<Option<Response>, Error> {
    if cx.session()?.get::<String>("user").is_some() {
        return Ok(None);
    }
    Ok(Some(Response::redirect(303, "/?login=needed")))
}

fn stamp(_: &Ctx, resp: Response) -> Response {
    resp.with_header("X-Frame-Options", "DENY")
}

fn not_found(cx: &Ctx, _: &Error) -> Result<Response, Error> {
    Ok(Response::html(
        200,
        format!(
            "<h1>lost: {}</h1>",
            miniweb::http::escape_html(&cx.req.path)
        ),
    ))
}

fn site() -> miniweb::Site {
    miniweb::Site::new()
        .mount("/admin", concat!(module_path!(), "::admin"))
        .before("/admin", require_login)
        .after(stamp)
        .on_error(404, not_found)
}

/// The app, with templates in a folder of their own and `secret_key` set to `keys`.
fn app(keys: &str) -> (tempfile::TempDir, Framework) {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(
        templates.join("links.html"),
        r#"<a href="{{ url_for(name="links", code=code) }}">self</a> <a href="{{ url_for(name="delete", id=7) }}">x</a> <a href="{{ url_for(name="home", next="/a b") }}">home</a>"#,
    )
    .unwrap();
    std::fs::write(
        templates.join("broken.html"),
        r#"{{ url_for(name="links") }}"#,
    )
    .unwrap();
    std::fs::write(
        templates.join("500.html"),
        "<h1>our 500: {{ message }}</h1>",
    )
    .unwrap();
    // Tests run in the project's folder: its migrations are the stock site's, not ours.
    let settings = format!(
        "templates_dir = {:?}\nmigrations_dir = {:?}\nsecret_key = {keys:?}\n",
        templates.display().to_string(),
        dir.path().join("no-migrations").display().to_string()
    );
    let framework = site().framework(&settings).unwrap();
    (dir, framework)
}

fn client() -> (tempfile::TempDir, Client) {
    let (dir, fw) = app(KEY);
    (dir, Client::new(fw))
}

/// A session cookie for `body` (`PAYLOAD.ISSUED`) signed as the framework does, with `key`.
fn signed(key: &str, json: &str, issued: u64) -> String {
    let body = format!("{}.{issued}", URL_SAFE_NO_PAD.encode(json));
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(b"miniweb session v1\0");
    mac.update(body.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("miniweb_session={body}.{tag}")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// --- the tests ----------------------------------------------------------------------------

#[test]
fn a_session_survives_between_requests_and_logout_ends_it() {
    let (_d, mut c) = client();
    assert_eq!(c.get("/").text(), "home of nobody");
    let r = c.post_form("/login", &[("user", "ann")]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("Location"), Some("/"));
    let set = r.header("Set-Cookie").unwrap();
    assert!(set.starts_with("miniweb_session="), "{set}");
    for attr in ["HttpOnly", "SameSite=Lax", "Max-Age=1209600", "Path=/"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    let r = c.get("/");
    assert_eq!(r.text(), "home of ann");
    assert_eq!(
        r.header("Cache-Control"),
        Some("private"),
        "a signed-in page is private"
    );
    assert!(r.headers.has_token("Vary", "Cookie"));
    assert!(
        r.header("Set-Cookie").is_none(),
        "an unchanged session is not sent again"
    );
    let r = c.post_form("/logout", &[]);
    assert!(r.header("Set-Cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(c.cookie("miniweb_session"), None);
    assert_eq!(c.get("/").text(), "home of nobody");
}

#[test]
fn forged_truncated_expired_and_foreign_sessions_are_nobody_never_an_error() {
    let (_d, mut c) = client();
    let good = signed(KEY, r#"{"user":"ann"}"#, now());
    let send = |c: &mut Client, cookie: &str| c.request("GET", "/").header("Cookie", cookie).send();
    assert_eq!(
        send(&mut c, &good).text(),
        "home of ann",
        "the test signs as the framework does"
    );
    let (body, tag) = good.rsplit_once('.').unwrap();
    let forged = format!(
        "miniweb_session={}.{}.{tag}",
        URL_SAFE_NO_PAD.encode(r#"{"user":"admin"}"#),
        now()
    );
    let bad = [
        forged,
        body.to_string(),
        good[..good.len() - 1].to_string(),
        signed(KEY, r#"{"user":"ann"}"#, now() - 15 * 86_400),
        signed("somebody else's key, as long", r#"{"user":"ann"}"#, now()),
        signed(KEY, r#"["not", "a map"]"#, now()),
        "miniweb_session=%%%".to_string(),
    ];
    for cookie in &bad {
        let r = send(&mut c, cookie);
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "home of nobody"),
            "{cookie}"
        );
    }
    // The admin area stays shut to all of them.
    for cookie in &bad {
        let r = c.request("GET", "/admin/").header("Cookie", cookie).send();
        assert_eq!(r.status, 303, "{cookie}");
    }
}

#[test]
fn an_old_key_still_reads_while_the_new_one_signs() {
    let old_cookie = signed(KEY, r#"{"user":"ann"}"#, now());
    let (_d, fw) = app(&format!("a-brand-new-key-long-enough {KEY}"));
    let mut c = Client::new(fw);
    let r = c.request("GET", "/").header("Cookie", &old_cookie).send();
    assert_eq!(r.text(), "home of ann");
    let r = c.post_form("/login", &[("user", "bob")]);
    let fresh = r
        .header("Set-Cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // The old key alone no longer verifies what the new one signs.
    let (_d2, only_old) = app(KEY);
    let r = Client::new(only_old)
        .request("GET", "/")
        .header("Cookie", &fresh)
        .send();
    assert_eq!(r.text(), "home of nobody");
}

#[test]
fn sessions_without_a_secret_key_are_a_500_that_says_why_in_the_log_only() {
    let (_d, fw) = app("");
    let r = Client::new(fw).get("/");
    assert_eq!(r.status, 500);
    assert!(!r.text().contains("secret_key"), "{}", r.text());
}

#[test]
fn dev_mode_without_a_key_signs_with_a_random_one_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let settings = format!(
        "dev = true\nmigrations_dir = {:?}\n",
        dir.path().join("none").display().to_string()
    );
    let mut c = Client::new(site().framework(&settings).unwrap());
    c.post_form("/login", &[("user", "dev")]);
    assert_eq!(c.get("/").text(), "home of dev");
    // Another start draws another key: the cookie of this one means nothing there.
    let cookie = format!("miniweb_session={}", c.cookie("miniweb_session").unwrap());
    let mut other = Client::new(site().framework(&settings).unwrap());
    let r = other.request("GET", "/").header("Cookie", &cookie).send();
    assert_eq!(r.text(), "home of nobody");
}

#[test]
fn cookies_are_read_and_set_and_a_value_that_would_inject_a_header_is_refused() {
    let (_d, mut c) = client();
    let r = c.get("/theme?set=dark");
    assert_eq!(
        r.header("Set-Cookie"),
        Some("theme=dark; Path=/; Max-Age=3600; SameSite=Strict")
    );
    assert_eq!(c.get("/theme").text(), "theme was dark");
    // A malformed pair beside it hides nothing.
    let r = c
        .request("GET", "/theme")
        .header("Cookie", "garbage; =x; theme=\"light\"; other")
        .send();
    assert_eq!(r.text(), "theme was light");
    for evil in [
        "dark%0D%0ASet-Cookie:%20admin=1",
        "a;b",
        "a%20b",
        "%E4%B8%AD",
    ] {
        let r = c.get(&format!("/theme?set={evil}"));
        assert_eq!(r.status, 500, "{evil}");
        assert!(r.header("Set-Cookie").is_none(), "{evil}");
    }
}

#[test]
fn json_bodies_are_parsed_into_the_handlers_type_or_refused_precisely() {
    let (_d, mut c) = client();
    let r = c.send_json(
        "POST",
        "/api/notes",
        &serde_json::json!({"title": "hi", "stars": 5}),
    );
    assert_eq!((r.status, r.text().as_str()), (201, "hi (5 stars)"));
    let r = c
        .request("POST", "/api/notes")
        .header("Content-Type", "application/vnd.api+json; charset=utf-8")
        .body(r#"{"title":"x","stars":1}"#)
        .send();
    assert_eq!(r.status, 201, "a +json type is JSON");
    let post = |c: &mut Client, ct: &str, body: &str| {
        c.request("POST", "/api/notes")
            .header("Content-Type", ct)
            .body(body)
            .send()
    };
    assert_eq!(
        post(&mut c, "text/plain", r#"{"title":"x","stars":1}"#).status,
        415
    );
    let r = post(
        &mut c,
        "application/json",
        r#"{"title":"x","stars":"many"}"#,
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("invalid type"),
        "serde's message: {}",
        r.text()
    );
    let r = post(&mut c, "application/json", r#"{"title":"x","stars":300}"#);
    assert_eq!(r.status, 400, "300 does not fit a u8");
    assert_eq!(post(&mut c, "application/json", "{not json").status, 400);
    assert_eq!(post(&mut c, "application/json", "").status, 400);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let r = post(&mut c, "application/json", &deep);
    assert_eq!(r.status, 400, "refused, not followed down the stack");
}

#[test]
fn a_before_hook_guards_the_mounted_admin_area_however_the_path_is_spelled() {
    let (_d, mut c) = client();
    for path in ["/admin/", "/%61dmin/", "/admin/%6eotes/1/delete"] {
        let method = if path.ends_with("delete") {
            "POST"
        } else {
            "GET"
        };
        let r = c.request(method, path).send();
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.header("Location"), Some("/?login=needed"), "{path}");
    }
    c.post_form("/login", &[("user", "ann")]);
    assert_eq!(c.get("/admin/").text(), "dashboard for ann");
    assert_eq!(
        c.request("POST", "/admin/notes/9/delete").send().text(),
        "deleted 9"
    );
    // The prefix is the group's alone: the routes keep their own paths elsewhere.
    assert_eq!(c.get("/notes/9/delete").status, 404);
}

#[test]
fn an_after_hook_sees_every_response_and_error_handlers_render_their_status() {
    let (_d, mut c) = client();
    assert_eq!(c.get("/").header("X-Frame-Options"), Some("DENY"));
    let r = c.get("/no/such/page");
    assert_eq!(r.status, 404, "the handler's page keeps the error's status");
    assert_eq!(r.text(), "<h1>lost: /no/such/page</h1>");
    assert_eq!(r.header("X-Frame-Options"), Some("DENY"));
    let r = c.request("DELETE", "/").send();
    assert_eq!(r.status, 405);
    assert!(r.header("Allow").is_some_and(|a| a.contains("GET")));
    // A panic is a 500 on the app's own page (500.html), its message only in the log.
    let r = c.get("/boom");
    assert_eq!(r.status, 500);
    assert!(r.text().starts_with("<h1>our 500"), "{}", r.text());
    assert!(!r.text().contains("secret internals"), "{}", r.text());
    assert_eq!(r.header("X-Frame-Options"), Some("DENY"));
}

#[test]
fn url_for_builds_encoded_paths_in_templates_and_fails_the_render_naming_what_is_missing() {
    let (_d, mut c) = client();
    let r = c.get("/links/a%20b%2F");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        r#"<a href="/links/a%20b%2F">self</a> <a href="/admin/notes/7/delete">x</a> <a href="/?next=%2Fa%20b">home</a>"#
    );
    let r = c.get("/broken-link");
    assert_eq!(r.status, 500, "a missing parameter fails the render");
}

#[test]
fn the_test_client_follows_redirects_on_request_and_keeps_cookies() {
    let (_d, fw) = app(KEY);
    let mut c = Client::new(fw).following_redirects();
    let r = c.post_form("/login", &[("user", "cy")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.redirects, ["/"]);
    assert_eq!(r.text(), "home of cy");
}

#[test]
fn routes_of_two_groups_that_land_on_the_same_path_are_refused_naming_both() {
    use miniweb::framework::{Mount, RouteDef};
    fn h(_: &Ctx) -> Result<Response, Error> {
        Ok(Response::text(200, ""))
    }
    let defs = [
        RouteDef {
            method: "GET",
            pattern: "/x",
            handler: h,
            name: "app::a::x",
        },
        RouteDef {
            method: "GET",
            pattern: "/a/x",
            handler: h,
            name: "app::top",
        },
    ];
    let mounts = [Mount {
        prefix: "/a",
        module: "app::a",
    }];
    let err = Router::mounted(&defs, &mounts).err().unwrap().to_string();
    assert!(
        err.contains("app::a::x") && err.contains("app::top"),
        "{err}"
    );
    let bad = [Mount {
        prefix: "/a/",
        module: "app::a",
    }];
    assert!(
        Router::mounted(&defs, &bad).is_err(),
        "a prefix ends without `/`"
    );
}

// --- over the wire, with curl --------------------------------------------------------------

#[test]
fn curl_logs_in_with_a_cookie_jar_and_a_forged_cookie_gets_nowhere() {
    if !common::installed("curl", "--version", "curl") {
        return;
    }
    let (_d, fw) = app(KEY);
    let server = common::InProcess::start(fw, |_| {});
    let jar = server.root.path().join("jar.txt");
    let url = |p: &str| format!("http://{}{p}", server.addr);
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "-S"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let jar_s = jar.to_str().unwrap();
    curl(&["-c", jar_s, "-d", "user=dee", &url("/login")]);
    let saved = std::fs::read_to_string(&jar).unwrap();
    assert!(saved.contains("miniweb_session"), "{saved}");
    assert!(saved.contains("#HttpOnly_"), "curl saw HttpOnly: {saved}");
    assert_eq!(curl(&["-b", jar_s, &url("/")]), "home of dee");
    assert_eq!(curl(&["-b", jar_s, &url("/admin/")]), "dashboard for dee");
    let forged = format!(
        "miniweb_session={}.{}.AAAA",
        URL_SAFE_NO_PAD.encode(r#"{"user":"dee"}"#),
        now()
    );
    assert_eq!(curl(&["-b", &forged, &url("/")]), "home of nobody");
    let status = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-b",
        &forged,
        &url("/admin/"),
    ]);
    assert_eq!(status, "303");
    // JSON nested ten thousand deep, on a connection thread's small stack: a 400, no crash.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let status = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &deep,
        &url("/api/notes"),
    ]);
    assert_eq!(status, "400");
    assert_eq!(
        curl(&["-b", jar_s, &url("/")]),
        "home of dee",
        "the server is still up"
    );
}
