//! The site in a real browser: Debian's `chromium`, headless, driven over the DevTools protocol
//! by `headless_chrome` (synchronous, so no async runtime in the tests; it starts the browser
//! itself, so no `chromium-driver` either; its `offline` default never downloads a browser).
//!
//! One visitor's whole path: follow a stock by clicking 添加, edit its note with characters
//! that need escaping, unfollow it, and come back from an action that failed, asserting on the
//! DOM after each step; then the layout at 390 and 1280 px, with screenshots, and nothing
//! wider than the viewport. Without chromium installed the tests say so in one line and pass.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use headless_chrome::protocol::cdp::Emulation::SetDeviceMetricsOverride;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;

use common::{project, site_with, Site};

/// Debian's chromium, or `$CHROME`; `None` (and one line saying so) when there is none.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("CHROME").map(PathBuf::from).or_else(|| {
        [
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            "/usr/bin/google-chrome",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
    });
    if found.is_none() {
        eprintln!("skipped: chromium is not installed (apt-get install chromium fonts-noto-cjk)");
    }
    found
}

fn launch(chrome: PathBuf) -> Browser {
    let options = LaunchOptions::default_builder()
        .path(Some(chrome))
        // CI runs as root, where Chromium's sandbox cannot start.
        .sandbox(false)
        .window_size(Some((1280, 900)))
        .idle_browser_timeout(Duration::from_secs(120))
        .build()
        .expect("launch options");
    Browser::new(options).expect("chromium starts")
}

/// The value of a JavaScript expression on the tab's page.
fn js(tab: &Tab, expression: &str) -> Value {
    tab.evaluate(expression, false)
        .unwrap_or_else(|e| panic!("{expression}: {e}"))
        .value
        .unwrap_or(Value::Null)
}

/// Opens `page` of the site and waits until it has loaded, stylesheet included.
fn goto(tab: &Tab, site: &Site, page: &str) {
    leave(tab, page, || {
        tab.navigate_to(&site.url(page)).unwrap();
    });
}

/// Clicks the element and waits until the page it leads to has loaded.
fn click_and_wait(tab: &Tab, selector: &str) {
    leave(tab, selector, || {
        tab.wait_for_element(selector)
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
            .click()
            .unwrap_or_else(|e| panic!("click {selector}: {e}"));
    });
}

/// Runs `action`, which leaves the page, and waits until the next page has loaded. The old
/// page is marked first, since the next one may have the same address (a way back to it).
fn leave(tab: &Tab, what: &str, action: impl FnOnce()) {
    js(tab, "window.leaving = true");
    action();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let loaded = tab
            .evaluate(
                "window.leaving === undefined && document.readyState === 'complete'",
                false,
            )
            .ok()
            .and_then(|r| r.value);
        if loaded == Some(Value::Bool(true)) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no new page: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many elements match `selector` on the tab's page.
fn count(tab: &Tab, selector: &str) -> u64 {
    let n = js(
        tab,
        &format!("document.querySelectorAll(\"{selector}\").length"),
    );
    n.as_u64().unwrap_or_else(|| panic!("{selector}: {n}"))
}

/// The page's path, from the address bar.
fn path(tab: &Tab, site: &Site) -> String {
    tab.get_url().replace(&site.url(""), "")
}

/// The codes of the centre's rows.
fn centre_codes(tab: &Tab) -> Vec<String> {
    let codes = js(
        tab,
        "JSON.stringify([...document.querySelectorAll('table.stocks tbody tr')]\
         .map(r => r.cells[0].textContent))",
    );
    serde_json::from_str(codes.as_str().unwrap()).unwrap()
}

/// The stock site with the project's own `static/` (its stylesheet, logo), as users get it,
/// and a browser tab on nothing yet; `None` (one line said) without chromium.
fn site_and_tab() -> Option<(Site, Browser, Arc<Tab>)> {
    let chrome = chromium()?;
    let site = site_with(&format!("static_dir = {:?}\n", project().join("static")));
    let browser = launch(chrome);
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(20));
    Some((site, browser, tab))
}

#[test]
fn a_visitor_follows_a_stock_edits_its_note_and_unfollows_it() {
    let Some((site, _browser, tab)) = site_and_tab() else {
        return;
    };

    goto(&tab, &site, "/index.html");
    assert_eq!(js(&tab, "document.title"), "股票信息 · 选股系统");
    assert_eq!(count(&tab, "table.stocks tbody tr"), 94);

    // Follow 000036 by its 添加 button: the browser lands on the centre, which lists it.
    click_and_wait(&tab, "form[action='/add/000036.html'] button");
    assert_eq!(path(&tab, &site), "/center.html");
    let codes = centre_codes(&tab);
    assert_eq!(codes.len(), 6, "{codes:?}");
    assert!(codes.contains(&"000036".to_string()));
    // The chart has its bar too.
    assert_eq!(count(&tab, "figure.chart rect"), 6);

    // Edit its note with text that is markup, typed key by key.
    click_and_wait(&tab, "a[href='/update/000036.html']");
    assert_eq!(path(&tab, &site), "/update/000036.html");
    let note = r#"<script>alert("x")</script> & 'q' 利好 <b>"#;
    tab.wait_for_element("#note").unwrap().click().unwrap();
    tab.type_str(note).unwrap();
    assert_eq!(js(&tab, "document.querySelector('#note').value"), note);
    click_and_wait(&tab, "form.note button[type=submit]");
    assert_eq!(path(&tab, &site), "/center.html");
    let shown = js(
        &tab,
        "[...document.querySelectorAll('table.stocks tbody tr')]\
         .find(r => r.cells[0].textContent === '000036').querySelector('td.note').textContent",
    );
    assert_eq!(shown, note, "the note is shown as typed, as text");
    assert_eq!(count(&tab, "main script, main b"), 0);

    // Unfollow it from the centre.
    click_and_wait(&tab, "form[action='/del/000036.html'] button");
    assert_eq!(path(&tab, &site), "/center.html");
    let codes = centre_codes(&tab);
    assert_eq!(codes.len(), 5);
    assert!(!codes.contains(&"000036".to_string()));

    // On the home page it is offered again; followed ones say 已关注.
    goto(&tab, &site, "/index.html");
    assert!(tab
        .find_element("form[action='/add/000036.html'] button")
        .is_ok());
    assert_eq!(count(&tab, "a.followed"), 5);
}

#[test]
fn a_failed_action_brings_the_browser_back_with_the_reason_shown_once() {
    let Some((site, _browser, tab)) = site_and_tab() else {
        return;
    };
    goto(&tab, &site, "/index.html");

    // Someone else (another tab) follows 000039 while this page still offers 添加.
    assert_eq!(site.post_form("/add/000039.html", "").status, 303);
    click_and_wait(&tab, "form[action='/add/000039.html'] button");

    // Back on the list, not on the POST's address, with the reason.
    assert_eq!(path(&tab, &site), "/index.html");
    assert_eq!(
        js(&tab, "document.querySelector('.flash').textContent"),
        "股票 000039 已经关注过了。"
    );
    // The page now knows it is followed; a reload shows the message no more.
    assert!(tab.find_element("form[action='/add/000039.html']").is_err());
    leave(&tab, "reload", || {
        tab.reload(false, None).unwrap();
    });
    assert_eq!(count(&tab, ".flash"), 0);
}

#[test]
fn the_pages_fit_a_phone_and_a_desktop_with_nothing_overflowing() {
    let Some((site, _browser, tab)) = site_and_tab() else {
        return;
    };
    let shots = tempfile::tempdir().unwrap();

    for (width, height, mobile) in [(390, 844, true), (1280, 900, false)] {
        tab.call_method(SetDeviceMetricsOverride {
            width,
            height,
            device_scale_factor: 1.0,
            mobile,
            scale: None,
            screen_width: None,
            screen_height: None,
            position_x: None,
            position_y: None,
            dont_set_visible_size: None,
            screen_orientation: None,
            viewport: None,
            display_feature: None,
            device_posture: None,
        })
        .unwrap();
        for page in [
            "/index.html",
            "/center.html",
            "/update/000007.html",
            "/nowhere.html",
        ] {
            goto(&tab, &site, page);
            let inner = js(&tab, "window.innerWidth").as_u64().unwrap();
            assert_eq!(inner, u64::from(width), "{page}: the viewport");
            // Nothing scrolls sideways: the page is as wide as the window's content area
            // (the window less a desktop's vertical scroll bar).
            let (scroll, client) = (
                js(&tab, "document.documentElement.scrollWidth"),
                js(&tab, "document.documentElement.clientWidth"),
            );
            assert!(client.as_u64().unwrap() + 20 > u64::from(width), "{client}");
            assert_eq!(
                scroll, client,
                "{page} at {width} px: the page is wider than the screen"
            );
            // The top bar spans the whole width.
            let bar = js(
                &tab,
                "document.querySelector('.bar').getBoundingClientRect().width",
            );
            assert_eq!(bar.as_f64(), client.as_f64(), "{page}: the bar");
            let png = tab
                .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
                .unwrap();
            assert!(png.starts_with(b"\x89PNG"));
            let name = format!(
                "{}-{width}.png",
                page.trim_start_matches('/').replace('/', "_")
            );
            std::fs::write(shots.path().join(name), png).unwrap();
        }
        // The list's table is wider than a phone: it scrolls inside its own box there.
        goto(&tab, &site, "/index.html");
        let boxed = js(
            &tab,
            "(b => b.scrollWidth > b.clientWidth)(document.querySelector('.scroll'))",
        );
        assert_eq!(boxed, Value::Bool(mobile), "at {width} px");
        // The chart is drawn at a readable size: its band labels at least 9 px tall.
        let label = js(
            &tab,
            "document.querySelector('figure.chart text.band').getBoundingClientRect().height",
        );
        assert!(label.as_f64().unwrap() >= 9.0, "{label} at {width} px");
    }
    let taken = std::fs::read_dir(shots.path()).unwrap().count();
    assert_eq!(taken, 8);
}
