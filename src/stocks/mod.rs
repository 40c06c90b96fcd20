//! The stock picker (选股系统): every page of the site, each handler declared with its path.

pub mod chart;
pub mod figure;
pub mod queries;

use miniweb::framework::{route, tera, Ctx, Error};
use miniweb::http::Response;

/// Longest note a user may save, in characters.
pub const MAX_NOTE_CHARS: usize = 200;

/// For load balancers and monitors: `ok` once the database answers a query, else 503.
/// Never cached, so that every probe reaches the database.
#[route("/healthz")]
fn healthz(cx: &Ctx) -> Result<Response, Error> {
    let checked = cx.db().and_then(|mut db| queries::stock_count(&mut db));
    let resp = match checked {
        Ok(_) => Response::text(200, "ok\n"),
        Err(e) => {
            log::error!("health check: {e}");
            Response::text(503, "unavailable\n")
        }
    };
    Ok(resp.with_header("Cache-Control", "no-store"))
}

/// The site's home page is the stock list.
#[route("/")]
fn home(cx: &Ctx) -> Result<Response, Error> {
    index(cx)
}

/// All stocks, each with a button to follow it, under the day's distribution of changes; also as JSON and CSV (`Accept`, `?format=`).
#[route("/index.html")]
fn index(cx: &Ctx) -> Result<Response, Error> {
    let stocks = queries::all_stocks(&mut *cx.db()?)?;
    cx.rows_with("index.html", "stocks", stocks, |stocks, page| {
        page.insert(
            "chart",
            &chart::distribution(stocks.iter().map(|s| s.chg.value())),
        );
    })
}

/// The personal centre: followed stocks with their notes, under a bar chart of their changes; also as JSON and CSV.
#[route("/center.html")]
fn center(cx: &Ctx) -> Result<Response, Error> {
    let stocks = queries::followed(&mut *cx.db()?)?;
    cx.rows_with("center.html", "stocks", stocks, |stocks, page| {
        page.insert("chart", &chart::bars(stocks));
    })
}

/// Follows a stock, then shows the centre.
#[route("/add/{code}.html", method = "POST")]
fn add(cx: &Ctx) -> Result<Response, Error> {
    queries::follow(&mut *cx.db()?, cx.param("code")?)?;
    Ok(Response::redirect(303, &cx.url_for("center", &[])?))
}

/// Unfollows a stock, then shows the centre.
#[route("/del/{code}.html", method = "POST")]
fn del(cx: &Ctx) -> Result<Response, Error> {
    queries::unfollow(&mut *cx.db()?, cx.param("code")?)?;
    Ok(Response::redirect(303, &cx.url_for("center", &[])?))
}

/// The form that edits the note of a followed stock.
#[route("/update/{code}.html")]
fn edit_note(cx: &Ctx) -> Result<Response, Error> {
    let stock = queries::followed_one(&mut *cx.db()?, cx.param("code")?)?;
    let mut context = tera::Context::new();
    context.insert("stock", &stock);
    context.insert("max_note_chars", &MAX_NOTE_CHARS);
    cx.render("update.html", &context)
}

/// Saves the note exactly as typed, then shows the centre.
#[route("/update/{code}.html", method = "POST")]
fn save_note(cx: &Ctx) -> Result<Response, Error> {
    let form = cx.form()?;
    let note = form
        .get("note")
        .ok_or_else(|| Error::BadRequest("表单缺少备注 (note) 字段。".into()))?;
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Error::BadRequest(format!(
            "备注最多 {MAX_NOTE_CHARS} 个字符。"
        )));
    }
    queries::set_note(&mut *cx.db()?, cx.param("code")?, note)?;
    Ok(Response::redirect(303, &cx.url_for("center", &[])?))
}

#[cfg(test)]
mod tests;
