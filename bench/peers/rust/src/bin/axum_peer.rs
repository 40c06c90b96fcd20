//! The stock page on axum 0.8 (tokio, one worker per core), TCP_NODELAY on as its docs advise;
//! every other path is a file, from tower-http's `ServeDir`.

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::serve::ListenerExt;
use axum::{extract::State, routing::get, Router};
use miniweb_peers::{args, Site};
use tower_http::services::ServeDir;

async fn index(State(site): State<Arc<Site>>) -> impl IntoResponse {
    match site.index() {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

#[tokio::main]
async fn main() {
    let args = args();
    let site = Arc::new(Site::open(&args.project, &args.database));
    let app = Router::new()
        .route("/index.html", get(index))
        .fallback_service(ServeDir::new(&args.static_dir))
        .with_state(site);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .expect("bind")
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app).await.expect("serve");
}
