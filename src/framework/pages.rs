//! The page cache: a rendered GET page is kept and served again until the database changes,
//! which `PRAGMA data_version` tells for writes from this process and from any other; a stale
//! page is rendered once for all who want it (`flight.rs`). Pages
//! carry an ETag, so that a browser's reload is a 304, and are compressed (br, gzip) once per
//! coding when first asked for, beside the page.

use crate::sync::Unpoisoned;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use super::database::Db;
use super::error::Error;
use super::flight::{Flights, Turn};
use super::timing::{CacheUse, Timing};
use crate::encoding::{self, negotiate, Coding, Effort};
use crate::http::{strong_etag, Body, Counter, Headers, Request, Response};

/// Distinct request targets kept at most; past this the cache starts over, so that a client
/// inventing query strings cannot grow it without bound.
const MAX_PAGES: usize = 256;

/// A rendered page and the database version it was rendered from.
struct Page {
    version: i64,
    etag: String,
    /// The handler's headers (`Content-Type` and any others) as every hit replays them: its
    /// `ETag` left out (the cache owns the validator), `Accept-Encoding` added to its `Vary`
    /// when the page may be compressed. Built once, when the page is kept.
    headers: Headers,
    body: Arc<[u8]>,
    /// The codings this page may be sent in (none if its type or size is not worth it, or
    /// compression is off).
    offer: &'static [Coding],
    /// Its compressed forms by `Coding::index`, each with its ETag, made on first use;
    /// `None` inside when not smaller.
    encoded: [OnceLock<Option<Coded>>; 2],
}

/// A compressed form of a page and its ETag.
type Coded = (Arc<[u8]>, String);

/// Rendered pages by key: the request target and the representation asked for.
pub(crate) struct PageCache {
    pages: RwLock<HashMap<String, Arc<Page>>>,
    /// Renders under way, so that each page is rendered once per version.
    flights: Flights<Option<Arc<Page>>>,
    /// Whether pages are compressed for clients that accept it.
    compression: bool,
    /// Pages served from the cache (or from another request's render), and pages rendered.
    hits: AtomicU64,
    misses: AtomicU64,
}

impl PageCache {
    pub fn new(compression: bool) -> PageCache {
        PageCache {
            pages: RwLock::new(HashMap::new()),
            flights: Flights::new(),
            compression,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Serves the page kept under `key` (the target and the representation asked for) if the
    /// database has not changed since it was rendered. Else the page is rendered with `render`,
    /// once for every request that wants it at this version (see `flight.rs`), and kept if it
    /// is a plain 200 held in memory.
    pub fn get_or_render(
        &self,
        req: &Request,
        key: &str,
        db: &Db,
        timing: &Timing,
        render: impl FnOnce() -> Result<Response, Error>,
    ) -> Result<Response, Error> {
        // Read the version before rendering: a write that lands during the render then makes
        // the entry look old, never a stale page look new.
        let asked = Instant::now();
        let version = db.data_version();
        timing.add_db(asked.elapsed());
        let version = version?;
        if let Some(page) = self.kept(key, version) {
            self.note(timing, CacheUse::Hit);
            return Ok(respond(req, &page));
        }
        let waited = Instant::now();
        let leader = match self.flights.join_or_lead(key, version) {
            Turn::Lead(leader) => leader,
            Turn::Joined(Ok(Some(page))) => {
                timing.add_wait(waited.elapsed());
                self.note(timing, CacheUse::Joined);
                return Ok(respond(req, &page));
            }
            Turn::Joined(Err(e)) => {
                timing.add_wait(waited.elapsed());
                self.note(timing, CacheUse::Joined);
                return Err(e);
            }
            // The page rendered could not be kept (a 404, a cookie): this one renders its own.
            Turn::Joined(Ok(None)) | Turn::Alone => {
                timing.add_wait(waited.elapsed());
                self.note(timing, CacheUse::Miss);
                return self
                    .render_and_keep(req, key, version, render)
                    .map(|(_, r)| r);
            }
        };
        // A render may have kept the page and landed between the look above and the turn
        // taken: it is kept then, and is this version's one render.
        if let Some(page) = self.kept(key, version) {
            leader.land(Ok(Some(page.clone())));
            self.note(timing, CacheUse::Hit);
            return Ok(respond(req, &page));
        }
        self.note(timing, CacheUse::Miss);
        let rendered = self.render_and_keep(req, key, version, render);
        leader.land(rendered.as_ref().map(|(page, _)| page.clone()));
        rendered.map(|(_, resp)| resp)
    }

    /// Records how a page was found, for `Server-Timing` and `/metrics`.
    fn note(&self, timing: &Timing, how: CacheUse) {
        let counter = match how {
            CacheUse::Miss => &self.misses,
            _ => &self.hits,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        timing.cache(how);
    }

    /// The counters, for `/metrics`.
    pub fn metrics(&self) -> Vec<Counter> {
        vec![
            Counter {
                name: "miniweb_page_cache_hits_total",
                help: "Pages served from the page cache, or from a render another request made.",
                value: self.hits.load(Ordering::Relaxed),
            },
            Counter {
                name: "miniweb_page_cache_misses_total",
                help: "Pages rendered.",
                value: self.misses.load(Ordering::Relaxed),
            },
        ]
    }

    /// The page kept under `key` if it was rendered from `version` or a newer one (newer is
    /// newer still: never stale).
    fn kept(&self, key: &str, version: i64) -> Option<Arc<Page>> {
        let pages = self.pages.read().unpoisoned();
        pages.get(key).filter(|p| p.version >= version).cloned()
    }

    /// Requests waiting for another's render now (read by the tests).
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.flights.waiting()
    }

    /// Renders the page and keeps it if it can be kept (a plain 200 held in memory, unless a
    /// page of a newer version is kept already); the page kept, and the response.
    fn render_and_keep(
        &self,
        req: &Request,
        key: &str,
        version: i64,
        render: impl FnOnce() -> Result<Response, Error>,
    ) -> Result<(Option<Arc<Page>>, Response), Error> {
        let resp = render()?;
        let cacheable = resp.status == 200
            && !resp.headers.has_token("Cache-Control", "no-store")
            && !resp.headers.contains("Set-Cookie");
        let (Body::Bytes(bytes), true) = (&resp.body, cacheable) else {
            return Ok((None, resp));
        };
        let worth = self.compression
            && bytes.len() as u64 >= encoding::MIN_SIZE
            && resp
                .headers
                .get("Content-Type")
                .is_some_and(encoding::compressible)
            && !resp.headers.contains("Content-Encoding");
        let page = Arc::new(Page {
            version,
            etag: strong_etag(bytes),
            headers: headers_to_replay(&resp.headers, worth),
            body: Arc::from(bytes.as_slice()),
            offer: if worth { &encoding::ALL } else { &[] },
            encoded: Default::default(),
        });
        let mut pages = self.pages.write().unpoisoned();
        if pages.len() >= MAX_PAGES && !pages.contains_key(key) {
            pages.clear();
        }
        if pages.get(key).is_none_or(|kept| kept.version <= version) {
            pages.insert(key.to_string(), page.clone());
        }
        drop(pages);
        Ok((Some(page.clone()), respond(req, &page)))
    }
}

/// A cached page as a response, in the coding the client prefers: 304 when the client's copy
/// of that form is current.
fn respond(req: &Request, page: &Page) -> Response {
    let coding = negotiate(req.header("Accept-Encoding"), page.offer);
    let coded = coding.and_then(|coding| {
        page.encoded[coding.index()]
            .get_or_init(|| {
                let out = encoding::compress(coding, &page.body, Effort::Fast).ok()?;
                (out.len() < page.body.len()).then(|| (Arc::from(out), coding.etag(&page.etag)))
            })
            .as_ref()
            .map(|form| (coding, form))
    });
    let mut resp = Response::new(200);
    resp.headers = page.headers.clone();
    let etag = match coded {
        Some((coding, (bytes, etag))) => {
            resp.headers.append("Content-Encoding", coding.token());
            resp.body = Body::Shared(bytes.clone());
            etag.clone()
        }
        None => {
            resp.body = Body::Shared(page.body.clone());
            page.etag.clone()
        }
    };
    validated(req, etag, resp)
}

/// The handler's headers as a cached page replays them (see `Page::headers`).
fn headers_to_replay(handler: &Headers, compressible: bool) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in handler.iter() {
        if !name.eq_ignore_ascii_case("ETag") && !name.eq_ignore_ascii_case("Vary") {
            headers.append(name, value);
        }
    }
    // One Vary field naming everything the answer depends on.
    let mut vary: Vec<&str> = handler.get_all("Vary").collect();
    if compressible {
        vary.push("Accept-Encoding");
    }
    if !vary.is_empty() {
        headers.append("Vary", vary.join(", "));
    }
    headers
}

/// Adds an ETag to an uncached 200 page and answers 304 when the client already has it.
pub(crate) fn with_etag(req: &Request, resp: Response) -> Response {
    if resp.status != 200 || resp.headers.contains("ETag") {
        return resp;
    }
    let Body::Bytes(bytes) = &resp.body else {
        return resp;
    };
    let etag = strong_etag(bytes);
    validated(req, etag, resp)
}

/// The one ETag/304 step of both: the page's validator, revalidation on every use unless the
/// handler said otherwise (`no-cache`), and a 304 without the body when the client's copy is
/// current.
fn validated(req: &Request, etag: String, mut resp: Response) -> Response {
    if !resp.headers.contains("Cache-Control") {
        resp.headers.append("Cache-Control", "no-cache");
    }
    if req.if_none_match(&etag) {
        resp.status = 304;
        resp.body = Body::Empty;
    }
    resp.headers.append("ETag", etag);
    resp
}
