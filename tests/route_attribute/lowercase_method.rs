// A method is an upper-case word.
use miniweb::framework::{route, Ctx, Error};
use miniweb::http::Response;

#[route("/add/{code}.html", method = "post")]
fn add(_: &Ctx) -> Result<Response, Error> {
    Ok(Response::new(200))
}

fn main() {
    let _ = add;
}
