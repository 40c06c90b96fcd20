//! The stock page on actix-web 4 (one worker per core), TCP_NODELAY set on every connection;
//! every other path is a file, from actix-files.

use actix_web::{get, web, App, HttpResponse, HttpServer};
use miniweb_peers::{args, Site};

#[get("/index.html")]
async fn index(site: web::Data<Site>) -> HttpResponse {
    match site.index() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => HttpResponse::InternalServerError().body(e),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = args();
    let site = web::Data::new(Site::open(&args.project, &args.database));
    let files = args.static_dir.clone();
    HttpServer::new(move || {
        App::new()
            .app_data(site.clone())
            .service(index)
            .service(actix_files::Files::new("/", &files))
    })
    .on_connect(|conn, _| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    .bind(("127.0.0.1", args.port))?
    .run()
    .await
}
