// A pattern must start with `/`; the function below must survive the error.
use miniweb::framework::{route, Ctx, Error};
use miniweb::http::Response;

#[route("index.html")]
fn index(_: &Ctx) -> Result<Response, Error> {
    Ok(Response::new(200))
}

fn main() {
    let _ = index;
}
