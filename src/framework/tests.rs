//! Framework tests: routing outcomes, errors to statuses, the error page, the origin check and
//! the page cache, on a real database file and real templates.

use crate::sync::Unpoisoned;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::*;

fn hello(_: &Ctx<'_>) -> Result<Response, Error> {
    Ok(Response::text(200, "hello"))
}

fn echo_code(cx: &Ctx<'_>) -> Result<Response, Error> {
    Ok(Response::text(200, cx.param("code")?.to_string()))
}

fn wrong_param(cx: &Ctx<'_>) -> Result<Response, Error> {
    Ok(Response::text(200, cx.param("no_such_name")?.to_string()))
}

fn conflict(_: &Ctx<'_>) -> Result<Response, Error> {
    Err(Error::Conflict("already there".into()))
}

fn broken_sql(cx: &Ctx<'_>) -> Result<Response, Error> {
    cx.db()?
        .execute("INSERT INTO no_such_table VALUES (1)", &[])?;
    Ok(Response::new(204))
}

/// Numbers every render in the process: a page served from the cache repeats its number,
/// whatever other tests render meanwhile.
static RENDERS: AtomicUsize = AtomicUsize::new(0);

fn counted(cx: &Ctx<'_>) -> Result<Response, Error> {
    let render = RENDERS.fetch_add(1, Ordering::SeqCst);
    let n: i64 = cx
        .db()?
        .query_row("SELECT count(*) FROM t", &[], |r| r.get(0))?;
    Ok(
        Response::html(200, format!("<p>{n} rows</p><!-- render {render} -->"))
            .with_header("X-Frame-Options", "DENY"),
    )
}

/// The rows a `counted` page reports, without its render number.
fn rows(resp: &Response) -> String {
    body(resp)
        .split("<!--")
        .next()
        .unwrap_or_default()
        .to_string()
}

fn insert(cx: &Ctx<'_>) -> Result<Response, Error> {
    cx.db()?.execute("INSERT INTO t VALUES (1)", &[])?;
    Ok(Response::redirect(303, "/count.html"))
}

/// The gate `gated` waits at (open?), whether its next render panics, and how many renders
/// it has begun: the single-flight test holds the render while others arrive.
static GATE: Mutex<(bool, bool)> = Mutex::new((false, false));
static GATE_MOVED: Condvar = Condvar::new();
static GATED_RENDERS: AtomicUsize = AtomicUsize::new(0);
/// Held by each test that uses the gate, one at a time.
static GATE_USERS: Mutex<()> = Mutex::new(());

fn gated(_: &Ctx<'_>) -> Result<Response, Error> {
    let render = GATED_RENDERS.fetch_add(1, Ordering::SeqCst);
    let mut gate = GATE.lock().unwrap();
    while !gate.0 {
        gate = GATE_MOVED.wait(gate).unwrap();
    }
    if std::mem::take(&mut gate.1) {
        drop(gate);
        panic!("the render failed");
    }
    Ok(Response::html(200, format!("<p>render {render}</p>")))
}

/// Sets the gate: open or shut, and whether the next render panics.
fn set_gate(open: bool, panic_next: bool) {
    *GATE.lock().unwrap() = (open, panic_next);
    GATE_MOVED.notify_all();
}

const DEFS: &[RouteDef] = &[
    RouteDef {
        method: "GET",
        pattern: "/gated.html",
        handler: gated,
        name: "t::gated",
    },
    RouteDef {
        method: "GET",
        pattern: "/hello.html",
        handler: hello,
        name: "t::hello",
    },
    RouteDef {
        method: "POST",
        pattern: "/echo/{code}.html",
        handler: echo_code,
        name: "t::echo",
    },
    RouteDef {
        method: "GET",
        pattern: "/wrong/{code}.html",
        handler: wrong_param,
        name: "t::wrong_param",
    },
    RouteDef {
        method: "POST",
        pattern: "/conflict.html",
        handler: conflict,
        name: "t::conflict",
    },
    RouteDef {
        method: "POST",
        pattern: "/broken.html",
        handler: broken_sql,
        name: "t::broken",
    },
    RouteDef {
        method: "GET",
        pattern: "/count.html",
        handler: counted,
        name: "t::counted",
    },
    RouteDef {
        method: "POST",
        pattern: "/insert.html",
        handler: insert,
        name: "t::insert",
    },
];

fn framework(page_cache: bool, error_template: Option<&str>) -> (tempfile::TempDir, Framework) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&Location::Sqlite(dir.path().join("t.db")), 8).unwrap();
    db.get()
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER)")
        .unwrap();
    let mut tera = tera::Tera::default();
    if let Some(t) = error_template {
        tera.add_raw_template("error.html", t).unwrap();
    }
    let router = Router::new(DEFS.iter()).unwrap();
    (dir, Framework::new(router, tera, Some(db), page_cache))
}

fn body(resp: &Response) -> String {
    String::from_utf8_lossy(resp.body.as_bytes().unwrap_or_default()).into_owned()
}

const ERROR_PAGE: &str = "<h1>{{ status }} {{ reason }}</h1><p>{{ message }}</p>";

#[test]
fn unknown_path_is_404_and_wrong_method_is_405_with_allow() {
    let (_d, fw) = framework(false, Some(ERROR_PAGE));
    assert_eq!(fw.call(&Request::fake("GET", "/nope.html")).status, 404);
    let resp = fw.call(&Request::fake("GET", "/echo/1.html"));
    assert_eq!(resp.status, 405);
    assert_eq!(resp.headers.get("Allow"), Some("OPTIONS, POST"));
    let resp = fw.call(&Request::fake("OPTIONS", "/hello.html"));
    assert_eq!(resp.status, 204);
    assert_eq!(resp.headers.get("Allow"), Some("GET, HEAD, OPTIONS"));
}

#[test]
fn a_handler_asking_for_a_parameter_its_route_lacks_is_a_500() {
    let (_d, fw) = framework(false, Some(ERROR_PAGE));
    let resp = fw.call(&Request::fake("GET", "/wrong/000007.html"));
    assert_eq!(resp.status, 500);
    assert!(
        !body(&resp).contains("no_such_name"),
        "the cause is not shown"
    );
}

#[test]
fn captures_reach_the_handler_decoded() {
    let (_d, fw) = framework(false, Some(ERROR_PAGE));
    let resp = fw.call(&Request::fake("POST", "/echo/%E4%B8%AD%20x.html"));
    assert_eq!(resp.status, 200);
    assert_eq!(body(&resp), "中 x");
}

#[test]
fn handler_errors_become_their_status_on_the_error_page() {
    let (_d, fw) = framework(false, Some(ERROR_PAGE));
    let resp = fw.call(&Request::fake("POST", "/conflict.html"));
    assert_eq!(resp.status, 409);
    assert_eq!(body(&resp), "<h1>409 Conflict</h1><p>already there</p>");
    let resp = fw.call(&Request::fake("POST", "/broken.html"));
    assert_eq!(resp.status, 500);
    assert!(
        !body(&resp).contains("no_such_table"),
        "internal details leaked"
    );
}

#[test]
fn a_broken_error_template_falls_back_to_a_fixed_page() {
    let (_d, fw) = framework(false, Some("{{ no_such_variable.field }}"));
    let resp = fw.call(&Request::fake("GET", "/nope.html"));
    assert_eq!(resp.status, 404);
    assert!(body(&resp).contains("404 Not Found"));
    let (_d, fw) = framework(false, None);
    assert_eq!(fw.call(&Request::fake("GET", "/nope.html")).status, 404);
}

#[test]
fn without_an_error_template_the_handlers_message_still_reaches_the_client() {
    let (_d, fw) = framework(false, None);
    let resp = fw.call(&Request::fake("POST", "/conflict.html"));
    assert_eq!(resp.status, 409);
    assert!(
        body(&resp).contains("<h1>409 Conflict</h1><p>already there</p>"),
        "{}",
        body(&resp)
    );
    let resp = fw.call(&Request::fake("GET", "/nope.html"));
    assert!(
        body(&resp).contains("There is no page at this address."),
        "{}",
        body(&resp)
    );
}

#[test]
fn cross_site_posts_are_forbidden() {
    let (_d, fw) = framework(false, Some(ERROR_PAGE));
    let cases = [
        ("Origin", "http://evil.example", 403),
        ("Referer", "http://evil.example/localhost:8080/", 403),
        ("Origin", "null", 403),
        ("Origin", "http://localhost:8080", 200),
        ("Referer", "http://localhost:8080/center.html", 200),
    ];
    for (name, value, status) in cases {
        let mut req = Request::fake("POST", "/echo/1.html");
        req.headers.append("Host", "localhost:8080");
        req.headers.append(name, value);
        assert_eq!(fw.call(&req).status, status, "{name}: {value}");
    }
}

#[test]
fn cached_pages_are_reused_until_the_database_changes() {
    let (dir, fw) = framework(true, Some(ERROR_PAGE));
    let get = || fw.call(&Request::fake("GET", "/count.html"));
    let first = get();
    assert_eq!(rows(&first), "<p>0 rows</p>");
    assert_eq!(body(&get()), body(&first), "second GET must hit the cache");
    assert_eq!(fw.call(&Request::fake("POST", "/insert.html")).status, 303);
    let after_write = get();
    assert_eq!(
        rows(&after_write),
        "<p>1 rows</p>",
        "a write must invalidate the page"
    );
    assert_eq!(body(&get()), body(&after_write));
    // A write by another connection, as another process would make.
    let other = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
    other.execute("INSERT INTO t VALUES (2)", []).unwrap();
    assert_eq!(rows(&get()), "<p>2 rows</p>");
    // The ETag turns a reload into a 304.
    let etag = get().headers.get("ETag").unwrap().to_string();
    let mut req = Request::fake("GET", "/count.html");
    req.headers.append("If-None-Match", etag);
    assert_eq!(fw.call(&req).status, 304);
}

#[test]
fn uncached_pages_still_carry_an_etag() {
    let (_d, fw) = framework(false, Some(ERROR_PAGE));
    let resp = fw.call(&Request::fake("GET", "/hello.html"));
    let etag = resp.headers.get("ETag").unwrap().to_string();
    let mut req = Request::fake("GET", "/hello.html");
    req.headers.append("If-None-Match", etag);
    assert_eq!(fw.call(&req).status, 304);
}

/// Waits until `done` holds, at most 10 s.
fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

#[test]
fn a_stale_page_is_rendered_once_for_everyone_who_waits_even_when_the_render_panics() {
    let _gate = GATE_USERS.lock().unpoisoned();
    let (_d, fw) = framework(true, Some(ERROR_PAGE));
    let fw = Arc::new(fw);
    let get = |fw: &Arc<Framework>| {
        let fw = fw.clone();
        std::thread::spawn(move || fw.call(&Request::fake("GET", "/gated.html")))
    };
    let waiting = |fw: &Framework| fw.pages.as_ref().unwrap().waiting();
    for panics in [true, false] {
        set_gate(false, panics);
        let before = GATED_RENDERS.load(Ordering::SeqCst);
        let leader = get(&fw);
        until("the leader's render", || {
            GATED_RENDERS.load(Ordering::SeqCst) == before + 1
        });
        let waiters: Vec<_> = (0..3).map(|_| get(&fw)).collect();
        until("three waiters", || waiting(&fw) == 3);
        set_gate(true, panics);
        let led = leader.join();
        let joined: Vec<Response> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(
            GATED_RENDERS.load(Ordering::SeqCst),
            before + 1,
            "one render for all four"
        );
        if panics {
            // The framework catches the leader's panic: a 500 on the app's page, not the
            // server's, and the panic itself only in the log.
            let led = led.expect("the panic stays inside the framework");
            assert_eq!(led.status, 500);
            assert!(body(&led).contains("<h1>500"), "{}", body(&led));
            for resp in &joined {
                assert_eq!(resp.status, 500);
                assert!(body(resp).contains("<h1>500"), "{}", body(resp));
            }
        } else {
            let led = led.unwrap();
            assert_eq!(led.status, 200);
            for resp in &joined {
                assert_eq!((resp.status, body(resp)), (200, body(&led)));
                assert!(resp
                    .headers
                    .get("Server-Timing")
                    .unwrap()
                    .contains("joined"));
            }
        }
        // Nothing is left waiting, and after a panic the next request renders again.
        assert_eq!(waiting(&fw), 0);
    }
    let again = fw.call(&Request::fake("GET", "/gated.html"));
    assert_eq!(again.status, 200);
    assert!(again.headers.get("Server-Timing").unwrap().contains("hit"));
}

#[test]
fn a_write_during_a_render_starts_a_render_of_its_own_and_never_serves_the_old_page() {
    let _gate = GATE_USERS.lock().unpoisoned();
    let (_d, fw) = framework(true, Some(ERROR_PAGE));
    let fw = Arc::new(fw);
    set_gate(false, false);
    let before = GATED_RENDERS.load(Ordering::SeqCst);
    let fw1 = fw.clone();
    let old = std::thread::spawn(move || fw1.call(&Request::fake("GET", "/gated.html")));
    until("the first render", || {
        GATED_RENDERS.load(Ordering::SeqCst) == before + 1
    });
    // A write lands while the first render is under way: the next request must not wait for
    // (nor be served) the render of the old version.
    let wrote = fw.call(&Request::fake("POST", "/insert.html"));
    assert_eq!(wrote.status, 303);
    let fw2 = fw.clone();
    let new = std::thread::spawn(move || fw2.call(&Request::fake("GET", "/gated.html")));
    until("a second render", || {
        GATED_RENDERS.load(Ordering::SeqCst) == before + 2
    });
    set_gate(true, false);
    let (old, new) = (old.join().unwrap(), new.join().unwrap());
    assert_ne!(body(&old), body(&new), "two versions, two renders");
    // The page kept is the newer one, whichever render ended last.
    let kept = fw.call(&Request::fake("GET", "/gated.html"));
    assert_eq!(body(&kept), body(&new));
}
