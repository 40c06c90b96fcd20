// The only option is `method`.
use miniweb::framework::{route, Ctx, Error};
use miniweb::http::Response;

#[route("/index.html", methd = "POST")]
fn index(_: &Ctx) -> Result<Response, Error> {
    Ok(Response::new(200))
}

fn main() {
    let _ = index;
}
