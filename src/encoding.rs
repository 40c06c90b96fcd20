//! Content codings (RFC 9110, section 8.4): which one a client accepts (`Accept-Encoding`
//! with q-values, `identity` and `*`), which types are worth compressing, and compression
//! with `br` and `gzip`. Used by the server for files and by the framework for cached pages;
//! both compress a body once and keep it, never per request.

use std::io::Write;

use crate::http::q_of;

/// A content coding miniweb can send; identity is `None` wherever a `Coding` is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// Brotli: smaller than gzip for text, understood by every current browser (over HTTPS
    /// at least; curl and most clients over plain HTTP too).
    Br,
    /// gzip: understood by every client that compresses at all.
    Gzip,
}

/// The codings in the server's order of preference, for ties between equal q-values.
pub const ALL: [Coding; 2] = [Coding::Br, Coding::Gzip];

/// Bodies smaller than this go out as they are: the coding's framing would eat the gain.
pub const MIN_SIZE: u64 = 256;

impl Coding {
    /// The token of `Content-Encoding` and `Accept-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// The file name suffix of a precompressed sibling (`app.css.br`), as nginx's
    /// `gzip_static` and `brotli_static` look for it.
    pub fn extension(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Gzip => "gz",
        }
    }

    /// The position of this coding in [`ALL`], for per-coding arrays.
    pub fn index(self) -> usize {
        match self {
            Coding::Br => 0,
            Coding::Gzip => 1,
        }
    }

    /// A strong ETag for this coding of the representation tagged `etag`: the same opaque
    /// value with the coding appended, so that each encoding validates only itself.
    pub fn etag(self, etag: &str) -> String {
        match etag.strip_suffix('"') {
            Some(open) => format!("{open}-{}\"", self.extension()),
            None => format!("{etag}-{}", self.extension()),
        }
    }
}

/// The coding to send given the request's `Accept-Encoding` and the codings `available` for
/// this body (in preference order); `None` for identity. Without the header, identity.
///
/// The highest q-value wins and the server's order breaks ties; identity wins only where the
/// client names it with a higher q-value than any coding available. A client that refuses
/// identity (`identity;q=0`) and accepts nothing available still gets identity: RFC 9110
/// allows it, and a body beats a 406.
pub fn negotiate(accept_encoding: Option<&str>, available: &[Coding]) -> Option<Coding> {
    let header = accept_encoding?;
    let mut star: Option<f32> = None;
    let mut identity: Option<f32> = None;
    let mut listed: [Option<f32>; 2] = [None, None];
    for item in header.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        let Some(q) = q_of(parts) else {
            continue; // a malformed q-value: ignore the item
        };
        let best = |slot: &mut Option<f32>| *slot = Some(slot.map_or(q, |old| old.max(q)));
        if name == "*" {
            best(&mut star);
        } else if name.eq_ignore_ascii_case("identity") {
            best(&mut identity);
        } else if let Some(c) = ALL.iter().find(|c| name.eq_ignore_ascii_case(c.token())) {
            best(&mut listed[c.index()]);
        } else if name.eq_ignore_ascii_case("x-gzip") {
            best(&mut listed[Coding::Gzip.index()]);
        }
    }
    let q_of = |c: Coding| listed[c.index()].or(star).unwrap_or(0.0);
    let (coding, q) = available.iter().map(|&c| (c, q_of(c))).fold(
        None,
        |best: Option<(Coding, f32)>, (c, q)| match best {
            Some((_, bq)) if bq >= q => best,
            _ => Some((c, q)),
        },
    )?;
    // Identity is the fallback: it wins only where the client named it with a higher q.
    let identity_q = identity.unwrap_or(0.0);
    (q > 0.0 && q >= identity_q).then_some(coding)
}

/// Whether a body of this `Content-Type` shrinks when compressed: text, and the textual
/// application and image types. Images, video, archives and fonts in WOFF are already
/// compressed.
pub fn compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "application/wasm"
                | "application/manifest+json"
                | "application/x-javascript"
                | "image/svg+xml"
                | "image/x-icon"
                | "image/vnd.microsoft.icon"
                | "image/bmp"
                | "font/ttf"
                | "font/otf"
                | "application/vnd.ms-fontobject"
        )
}

/// How hard to try: `Best` for what is compressed once and served for as long as a file is
/// unchanged, `Fast` for pages that a write to the database makes stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// Brotli 11 / gzip 9 up to 256 KiB, brotli 7 / gzip 6 beyond (brotli 11 runs at about
    /// 1 MB/s).
    Best,
    /// Brotli 5 / gzip 6: a few milliseconds for a large page.
    Fast,
}

/// Stack of the thread that compresses: the encoders keep tables of hundreds of KiB on the
/// stack (more in a debug build), far more than a connection thread's 256 KiB.
const COMPRESS_STACK_BYTES: usize = 16 * 1024 * 1024;

/// `bytes` compressed with `coding`, on a thread of its own with a stack large enough for the
/// encoders; the caller waits. Bodies are compressed once, so the thread costs nothing that
/// matters.
pub fn compress(coding: Coding, bytes: &[u8], effort: Effort) -> std::io::Result<Vec<u8>> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("compress".into())
            .stack_size(COMPRESS_STACK_BYTES)
            .spawn_scoped(scope, || compress_here(coding, bytes, effort))?
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the encoder panicked")))
    })
}

fn compress_here(coding: Coding, bytes: &[u8], effort: Effort) -> std::io::Result<Vec<u8>> {
    let large = bytes.len() > 256 * 1024;
    let mut out = Vec::with_capacity(bytes.len() / 3 + 64);
    match coding {
        Coding::Br => {
            let quality = match (effort, large) {
                (Effort::Best, false) => 11,
                (Effort::Best, true) => 7,
                (Effort::Fast, _) => 5,
            };
            let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, quality, 22);
            w.write_all(bytes)?;
            w.flush()?;
        }
        Coding::Gzip => {
            let level = match (effort, large) {
                (Effort::Best, false) => 9,
                _ => 6,
            };
            let mut w = flate2::write::GzEncoder::new(&mut out, flate2::Compression::new(level));
            w.write_all(bytes)?;
            w.finish()?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn negotiation_follows_q_values_identity_and_star() {
        use Coding::*;
        let both = &[Br, Gzip];
        let cases: &[(Option<&str>, &[Coding], Option<Coding>)] = &[
            (None, both, None),
            (Some(""), both, None),
            (Some("gzip, deflate, br, zstd"), both, Some(Br)),
            (Some("gzip, deflate"), both, Some(Gzip)),
            (Some("br;q=0.5, gzip;q=0.8"), both, Some(Gzip)),
            (Some("br;q=1.0, gzip;q=1.0"), both, Some(Br)),
            (Some("gzip;q=0, br;q=0"), both, None),
            (Some("*"), both, Some(Br)),
            (Some("*;q=0.5, br;q=0"), both, Some(Gzip)),
            (Some("identity"), both, None),
            (Some("gzip;q=0.5, identity"), both, None),
            (Some("gzip, identity;q=0.5"), both, Some(Gzip)),
            (Some("identity;q=0, gzip"), both, Some(Gzip)),
            (Some("deflate"), both, None),
            (Some("GZIP"), both, Some(Gzip)),
            (Some("x-gzip"), both, Some(Gzip)),
            (Some("br"), &[Gzip], None),
            (Some("gzip;q=2"), both, None),
            (Some("gzip;q=abc"), both, None),
            (Some("gzip;q=0.001"), both, Some(Gzip)),
            (Some("gzip;q=0.5, identity;q=0.7"), both, None),
            (Some("br, gzip"), &[], None),
        ];
        for (header, available, want) in cases {
            assert_eq!(
                negotiate(*header, available),
                *want,
                "{header:?} {available:?}"
            );
        }
    }

    #[test]
    fn compressed_bodies_decompress_to_the_original() {
        let text = "涨跌幅 <td>000007</td> ".repeat(500).into_bytes();
        for effort in [Effort::Best, Effort::Fast] {
            let br = compress(Coding::Br, &text, effort).unwrap();
            let mut back = Vec::new();
            brotli::Decompressor::new(&br[..], 4096)
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, text);
            assert!(br.len() < text.len() / 10);
            let gz = compress(Coding::Gzip, &text, effort).unwrap();
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, text);
        }
    }

    #[test]
    fn textual_types_are_compressible_and_images_are_not() {
        for t in [
            "text/html; charset=utf-8",
            "text/css",
            "application/json",
            "application/javascript; charset=utf-8",
            "image/svg+xml",
            "application/ld+json",
        ] {
            assert!(compressible(t), "{t}");
        }
        for t in [
            "image/png",
            "image/jpeg",
            "application/zip",
            "font/woff2",
            "video/mp4",
        ] {
            assert!(!compressible(t), "{t}");
        }
    }

    #[test]
    fn each_coding_has_its_own_etag() {
        assert_eq!(Coding::Br.etag("\"abc-12\""), "\"abc-12-br\"");
        assert_eq!(Coding::Gzip.etag("\"abc-12\""), "\"abc-12-gz\"");
    }
}
