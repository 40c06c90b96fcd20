//! The stock page on actix-web 4 (one worker per core), TCP_NODELAY set on every connection.

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
    let (port, project, database) = args();
    let site = web::Data::new(Site::open(&project, &database));
    HttpServer::new(move || App::new().app_data(site.clone()).service(index))
        .on_connect(|conn, _| {
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
