//! A client that sends requests to an [`App`] in the same process, with no socket, as Flask's
//! `app.test_client()`: for tests of handlers, hooks, sessions and pages, where going over
//! TCP adds nothing. It keeps the cookies the app sets (a jar, as a browser's) and, when
//! asked, follows redirects.
//!
//! ```
//! use miniweb::http::{Request, Response};
//! use miniweb::test_client::Client;
//!
//! let app = |req: &Request| match req.path.as_str() {
//!     "/" => Response::redirect(303, "/hello").with_header("Set-Cookie", "name=ann; Path=/"),
//!     _ => Response::text(200, format!("hello, {}", req.cookie("name").unwrap_or("you"))),
//! };
//! let mut client = Client::new(app).following_redirects();
//! let resp = client.get("/");
//! assert_eq!(resp.status, 200);
//! assert_eq!(resp.redirects, ["/hello"]);
//! assert_eq!(resp.text(), "hello, ann", "the cookie set on the way came along");
//! ```
//!
//! What it does not do, that the real server does: framing, limits and deadlines, static
//! files, `Date` and `Server`. A test of those goes through a socket (`tests/common`).

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::http::{App, Body, Headers, Request, RequestBody};

/// Redirects followed at most for one request.
const MAX_REDIRECTS: usize = 10;

/// Requests to an app, in process, with a cookie jar.
pub struct Client {
    app: Arc<dyn App>,
    /// (name, value), one per name: what the app has set and not deleted.
    jar: Vec<(String, String)>,
    follow: bool,
}

/// A request being built: [`Client::request`], then headers and a body, then `send`.
pub struct RequestBuilder<'c> {
    client: &'c mut Client,
    req: Request,
}

/// What the app answered.
#[derive(Debug)]
pub struct TestResponse {
    /// The status.
    pub status: u16,
    /// The headers, as the app set them.
    pub headers: Headers,
    /// The whole body (a stream read to its end, a file range read).
    pub body: Vec<u8>,
    /// The targets of the redirects followed to get here, in order.
    pub redirects: Vec<String>,
}

impl TestResponse {
    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON of type `T`; panics with serde's message if it is not (a test failing).
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not that JSON ({e}): {}", self.text()))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

impl Client {
    /// A client of `app`, keeping cookies, not following redirects.
    pub fn new(app: impl App) -> Client {
        Client::shared(Arc::new(app))
    }

    /// A client of an app already shared.
    pub fn shared(app: Arc<dyn App>) -> Client {
        Client {
            app,
            jar: Vec::new(),
            follow: false,
        }
    }

    /// This client following redirects (301, 302, 303 as GET; 307, 308 as they were sent).
    pub fn following_redirects(mut self) -> Client {
        self.follow = true;
        self
    }

    /// `GET target`.
    pub fn get(&mut self, target: &str) -> TestResponse {
        self.request("GET", target).send()
    }

    /// `POST target` with `fields` as a urlencoded form.
    pub fn post_form(&mut self, target: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = form_urlencoded(fields);
        self.request("POST", target)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    }

    /// `method target` with `value` as a JSON body.
    pub fn send_json(
        &mut self,
        method: &str,
        target: &str,
        value: &impl Serialize,
    ) -> TestResponse {
        let body = serde_json::to_vec(value).unwrap_or_else(|e| panic!("not JSON: {e}"));
        self.request(method, target)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    }

    /// A request to build: headers and a body may follow, then [`RequestBuilder::send`].
    pub fn request(&mut self, method: &str, target: &str) -> RequestBuilder<'_> {
        let req = new_request(method, target);
        RequestBuilder { client: self, req }
    }

    /// The cookie `name` as the jar holds it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Forgets every cookie (a new browser).
    pub fn clear_cookies(&mut self) {
        self.jar.clear();
    }

    fn send(&mut self, mut req: Request) -> TestResponse {
        let mut redirects = Vec::new();
        loop {
            if !self.jar.is_empty() && !req.headers.contains("Cookie") {
                let pairs: Vec<String> = self.jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
                req.headers.append("Cookie", pairs.join("; "));
            }
            let resp = self.app.call(&req);
            for set in resp.headers.get_all("Set-Cookie") {
                self.keep(set);
            }
            let location = resp.headers.get("Location").map(str::to_string);
            let status = resp.status;
            let body = read_body(resp.body);
            let next = match (&location, status) {
                (Some(to), 301 | 302 | 303 | 307 | 308) if self.follow => local_target(to),
                _ => None,
            };
            let Some(target) = next.filter(|_| redirects.len() < MAX_REDIRECTS) else {
                return TestResponse {
                    status,
                    headers: resp.headers,
                    body,
                    redirects,
                };
            };
            redirects.push(target.clone());
            let keep_method = matches!(status, 307 | 308);
            let mut next_req = new_request(if keep_method { &req.method } else { "GET" }, &target);
            if keep_method {
                next_req.body = std::mem::take(&mut req.body);
                if let Some(ct) = req.headers.get("Content-Type") {
                    next_req.headers.append("Content-Type", ct.to_string());
                }
            }
            req = next_req;
        }
    }

    /// Takes one `Set-Cookie` into the jar: set, replaced, or deleted when it has expired.
    fn keep(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim().to_string(), value.trim().to_string());
        // Max-Age wins over Expires (RFC 6265bis); either in the past deletes the cookie.
        let mut expired = None;
        for attr in parts {
            let (name, value) = attr.split_once('=').unwrap_or((attr, ""));
            let (name, value) = (name.trim(), value.trim());
            if name.eq_ignore_ascii_case("Max-Age") {
                expired = Some(!value.parse::<i64>().is_ok_and(|secs| secs > 0));
            } else if name.eq_ignore_ascii_case("Expires") && expired.is_none() {
                let at = httpdate::parse_http_date(value);
                expired = Some(at.is_ok_and(|at| at <= std::time::SystemTime::now()));
            }
        }
        let expired = expired.unwrap_or(false);
        self.jar.retain(|(n, _)| *n != name);
        if !expired {
            self.jar.push((name, value));
        }
    }
}

impl RequestBuilder<'_> {
    /// One more header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.req.headers.append(name, value.to_string());
        self
    }

    /// The body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.req.body = RequestBody::from_bytes(body.into());
        self
    }

    /// Sends it, with the jar's cookies unless a `Cookie` header was given.
    pub fn send(self) -> TestResponse {
        self.client.send(self.req)
    }
}

/// A request as the server would hand it over from a client on loopback.
fn new_request(method: &str, target: &str) -> Request {
    let mut req = Request::fake(method, target);
    req.headers.append("Host", "localhost");
    let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 50_000);
    req.peer = Some(peer);
    req.client = Some(peer.ip());
    req
}

/// The target of a redirect to this app (`/x`, or `http://localhost/x`); `None` elsewhere.
fn local_target(location: &str) -> Option<String> {
    if location.starts_with('/') && !location.starts_with("//") {
        return Some(location.to_string());
    }
    let rest = location.strip_prefix("http://localhost")?;
    Some(if rest.is_empty() {
        "/".into()
    } else {
        rest.to_string()
    })
}

fn read_body(body: Body) -> Vec<u8> {
    match body {
        Body::Empty => Vec::new(),
        Body::Bytes(b) => b,
        Body::Shared(b) => b.to_vec(),
        Body::File { file, start, len } => {
            use std::io::{Seek, SeekFrom};
            let mut file = file;
            let mut out = Vec::new();
            if file.seek(SeekFrom::Start(start)).is_ok() {
                let _ = file.take(len).read_to_end(&mut out);
            }
            out
        }
        Body::Stream(chunks) => chunks.map_while(Result::ok).flatten().collect(),
    }
}

fn form_urlencoded(fields: &[(&str, &str)]) -> Vec<u8> {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}
