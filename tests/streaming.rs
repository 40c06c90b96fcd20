//! Streamed response bodies (`Body::Stream`, WSGI's iterable): chunked for HTTP/1.1, ended
//! by the close for HTTP/1.0, never pulled for HEAD, dropped when the client leaves.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::InProcess;
use miniweb::http::{Body, Request, Response, Stream};

/// Sets its flag when dropped: tells that the server let go of a producer.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `/three`: three chunks; `/endless`: 64 KiB chunks forever, with a drop flag and a count of
/// chunks pulled; `/broken`: one chunk, then an error.
fn server(pulled: Arc<AtomicUsize>, dropped: Arc<AtomicBool>) -> InProcess {
    InProcess::start(
        move |req: &Request| {
            let body = match req.path.as_str() {
                "/three" => {
                    let pulled = pulled.clone();
                    Stream::new(["a", "", "bb", "ccc"].into_iter().map(move |c| {
                        pulled.fetch_add(1, Ordering::SeqCst);
                        Ok(c.as_bytes().to_vec())
                    }))
                }
                "/endless" => {
                    let flag = DropFlag(dropped.clone());
                    let pulled = pulled.clone();
                    Stream::new(std::iter::repeat_with(move || {
                        let _keep = &flag;
                        pulled.fetch_add(1, Ordering::SeqCst);
                        Ok(vec![b'x'; 64 * 1024])
                    }))
                }
                "/broken" => Stream::new([
                    Ok(b"partial".to_vec()),
                    Err(std::io::Error::other("the database went away")),
                ]),
                _ => return Response::text(404, "no"),
            };
            Response::new(200)
                .with_header("Content-Type", "text/plain")
                .with_body(Body::Stream(body))
        },
        |_| {},
    )
}

fn fresh() -> (InProcess, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let pulled = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    (server(pulled.clone(), dropped.clone()), pulled, dropped)
}

#[test]
fn http11_gets_chunks_and_keeps_the_connection() {
    let (s, _, _) = fresh();
    let mut c = s.client();
    let r = c.exchange("GET", "/three", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.text(), "abbccc");
    // The framing ended the body, so the connection goes on.
    assert_eq!(c.exchange("GET", "/three", &[], b"").text(), "abbccc");
}

#[test]
fn http10_gets_the_body_ended_by_the_close() {
    let (s, _, _) = fresh();
    let mut c = s.client();
    c.send(b"GET /three HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let all = c.read_to_close(Duration::from_secs(5)).expect("closed");
    let text = String::from_utf8(all).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("Connection: close"), "{head}");
    assert!(
        !head.contains("Transfer-Encoding") && !head.contains("Content-Length"),
        "{head}"
    );
    assert_eq!(body, "abbccc");
}

#[test]
fn head_never_pulls_the_producer() {
    let (s, pulled, _) = fresh();
    let r = s.client().exchange("HEAD", "/three", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert!(r.body.is_empty());
    assert_eq!(pulled.load(Ordering::SeqCst), 0);
}

#[test]
fn a_client_that_leaves_drops_the_producer() {
    let (s, pulled, dropped) = fresh();
    let mut c = s.client();
    c.send_request("GET", "/endless", &[], b"");
    let mut some = [0u8; 1 << 16];
    let _ = std::io::Read::read(&mut c.stream, &mut some);
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dropped.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dropped.load(Ordering::SeqCst), "the producer is still held");
    // Pulled only as far as the socket buffers took, not forever.
    assert!(
        pulled.load(Ordering::SeqCst) < 1000,
        "{}",
        pulled.load(Ordering::SeqCst)
    );
    // And the server serves on.
    assert_eq!(
        s.client().exchange("GET", "/three", &[], b"").text(),
        "abbccc"
    );
}

#[test]
fn a_failing_producer_cuts_the_body_and_closes() {
    let (s, _, _) = fresh();
    let mut c = s.client();
    c.send_request("GET", "/broken", &[], b"");
    let all = c.read_to_close(Duration::from_secs(5)).expect("closed");
    let text = String::from_utf8(all).unwrap();
    assert!(text.contains("\r\n\r\n7\r\npartial\r\n"), "{text}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "a cut body must not look complete: {text}"
    );
}
