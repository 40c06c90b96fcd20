use miniweb::prelude::*;

#[route("/")]
fn home(_cx: &Ctx) -> Result<Response, Error> {
    Ok(Response::html(
        200,
        r#"<form method="post" action="/echo"><input name="text"></form>"#,
    ))
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
    let text = form
        .get("text")
        .ok_or(Error::BadRequest("no text in the form".into()))?;
    Ok(Response::text(200, format!("you said: {text}\n")))
}

fn main() -> std::process::ExitCode {
    miniweb::run() // `cargo run -- 8080`; `--help` says the rest
}
