use miniweb::prelude::*;

#[route("/")]
fn home(_cx: &Ctx) -> Result<Response, Error> {
    let form = r#"<form method="post" action="/echo"><input name="text"></form>"#;
    Ok(Response::html(200, form))
}

#[route("/hello/{name}")]
fn hello(cx: &Ctx) -> Result<Response, Error> {
    let mut page = tera::Context::new();
    page.insert("name", cx.param("name")?);
    cx.render("hello.html", &page) // templates/hello.html: <p>Hello, {{ name }}!</p>
}

#[route("/echo", method = "POST")]
fn echo(cx: &Ctx) -> Result<Response, Error> {
    let form = cx.form()?;
    let text = form.field("text")?; // no `text` field: a 400 that says so
    Ok(Response::text(200, format!("you said: {text}\n")))
}

fn main() -> std::process::ExitCode {
    miniweb::run() // `cargo run -- 8080`; `--help` says the rest
}
