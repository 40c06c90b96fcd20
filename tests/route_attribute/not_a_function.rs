// #[route] goes on a function; the item is kept all the same.
use miniweb::framework::route;

#[route("/index.html")]
struct Index;

fn main() {
    let _ = Index;
}
