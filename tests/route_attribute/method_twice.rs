// `method` may be given once.
use miniweb::framework::{route, Ctx, Error};
use miniweb::http::Response;

#[route("/add/{code}.html", method = "POST", method = "PUT")]
fn add(_: &Ctx) -> Result<Response, Error> {
    Ok(Response::new(200))
}

fn main() {
    let _ = add;
}
