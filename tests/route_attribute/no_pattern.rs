// The pattern is required.
use miniweb::framework::{route, Ctx, Error};
use miniweb::http::Response;

#[route]
fn index(_: &Ctx) -> Result<Response, Error> {
    Ok(Response::new(200))
}

fn main() {
    let _ = index;
}
