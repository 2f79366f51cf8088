//! Tests of `parallax_engine::fetch` against loopback servers started here. Nothing leaves
//! the machine: every non-loopback URL below is refused by the SSRF guard before a
//! connection is attempted, which the error kind proves (an attempt would end in
//! `connect` or `timeout` instead).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;

use parallax_engine::fetch::{
    classify_ip, normalize_url, AddressClass, CacheOptions, CacheOrigin, ContentKind, FetchCache,
    FetchError, FetchErrorKind, Fetcher, FetcherConfig,
};

// ---------------------------------------------------------------------------------------
// Hand-made compressed bodies (no compression crate needed).

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Raw deflate made of stored (uncompressed) blocks.
fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len())); // BFINAL, BTYPE=00
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// LSB-first bit writer for deflate.
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn new() -> Bits {
        Bits {
            out: Vec::new(),
            acc: 0,
            n: 0,
        }
    }
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.acc |= ((value >> i) & 1) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }
    /// Huffman codes are sent most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A real compressed deflate stream (fixed Huffman) of one byte followed by `repeats`
/// back-references of length 258 at distance 1: `1 + 258 * repeats` copies of `byte`.
fn deflate_run(byte: u8, repeats: usize) -> (Vec<u8>, Vec<u8>) {
    let mut bits = Bits::new();
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE=01, fixed Huffman
    bits.code(0x30 + u32::from(byte), 8); // literal 0..=143
    for _ in 0..repeats {
        bits.code(0xc0 + (285 - 280), 8); // length 258
        bits.code(0, 5); // distance 1
    }
    bits.code(0, 7); // end of block
    let plain = vec![byte; 1 + 258 * repeats];
    (bits.finish(), plain)
}

fn gzip_wrap(deflated: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(deflated);
    out.extend_from_slice(&crc32(plain).to_le_bytes());
    out.extend_from_slice(&(plain.len() as u32).to_le_bytes());
    out
}

fn gzip(plain: &[u8]) -> Vec<u8> {
    gzip_wrap(&deflate_stored(plain), plain)
}

/// `Content-Encoding: deflate` is the zlib format.
fn zlib(plain: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    out.extend_from_slice(&deflate_stored(plain));
    out.extend_from_slice(&adler32(plain).to_be_bytes());
    out
}

/// Brotli: one uncompressed meta-block, then an empty last one.
fn brotli(plain: &[u8]) -> Vec<u8> {
    assert!(!plain.is_empty() && plain.len() <= 65_536);
    // bit 0 WBITS=16 ('0'), bit 1 ISLAST=0, bits 2-3 MNIBBLES=4 ('00'), bits 4-19 MLEN-1,
    // bit 20 ISUNCOMPRESSED=1, then padding to the byte boundary.
    let header: u32 = ((plain.len() as u32 - 1) << 4) | (1 << 20);
    let mut out = header.to_le_bytes()[..3].to_vec();
    out.extend_from_slice(plain);
    out.push(0b11); // ISLAST=1, ISLASTEMPTY=1
    out
}

// ---------------------------------------------------------------------------------------
// The loopback "web".

const GZIP_TEXT: &str =
    "<html><body><p>Compressed page about the Zyxian archipelago, gzip edition.</p></body></html>";
const BOMB_REPEATS: usize = 400; // 103 201 bytes once inflated

#[derive(Default)]
struct Web {
    hits: Mutex<HashMap<String, usize>>,
    failing: AtomicBool,
    accept_encoding: Mutex<Option<String>>,
}

impl Web {
    fn hit(&self, name: &str) -> usize {
        let mut hits = self.hits.lock().unwrap();
        let n = hits.entry(name.to_owned()).or_default();
        *n += 1;
        *n
    }
    fn hits(&self, name: &str) -> usize {
        self.hits.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

type Shared = Arc<Web>;

fn typed(content_type: &'static str, body: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body.into()).into_response()
}

fn encoded(encoding: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_ENCODING, encoding),
        ],
        body,
    )
        .into_response()
}

fn router(web: Shared) -> Router {
    Router::new()
        .route(
            "/html-latin1",
            get(|| async {
                typed(
                    "text/html; charset=iso-8859-1",
                    &b"<html><body><p>caf\xe9 na\xefve</p></body></html>"[..],
                )
            }),
        )
        .route(
            "/html-meta",
            get(|| async {
                let mut body = b"<!DOCTYPE html><html><head><meta charset=\"shift_jis\"><title>t</title></head><body>".to_vec();
                body.extend_from_slice(b"\x93\xfa\x96\x7b"); // 日本 in Shift_JIS
                body.extend_from_slice(b"</body></html>");
                typed("text/html", body)
            }),
        )
        .route(
            "/html-http-equiv",
            get(|| async {
                let mut body = b"<html><head><META HTTP-EQUIV='Content-Type' CONTENT='text/html; charset=windows-1251'></head><body>".to_vec();
                body.extend_from_slice(b"\xcf\xf0\xe8\xe2\xe5\xf2"); // Привет in windows-1251
                body.extend_from_slice(b"</body></html>");
                typed("text/html", body)
            }),
        )
        .route(
            "/html-utf8",
            get(|| async { typed("text/html", "<html><body>naïve 日本</body></html>") }),
        )
        .route(
            "/html-bom",
            get(|| async {
                let mut body = b"\xef\xbb\xbf".to_vec();
                body.extend_from_slice("<html><body>naïve</body></html>".as_bytes());
                typed("text/html; charset=iso-8859-1", body)
            }),
        )
        .route(
            "/html-latin1-undeclared",
            get(|| async { typed("text/html", &b"<html><body>caf\xe9</body></html>"[..]) }),
        )
        .route(
            "/text",
            get(|| async { typed("text/plain; charset=utf-8", "plain text about Zyx\n") }),
        )
        .route(
            "/untyped",
            get(|| async { Response::new(Body::from("<!doctype html><html>untyped</html>")) }),
        )
        .route(
            "/pdf",
            get(|| async { typed("application/pdf", &b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"[..]) }),
        )
        .route(
            "/octet-pdf",
            get(|| async { typed("application/octet-stream", &b"%PDF-1.7\n%%EOF\n"[..]) }),
        )
        .route(
            "/png",
            get(|| async { typed("image/png", &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..]) }),
        )
        .route(
            "/gzip",
            get(|State(web): State<Shared>, headers: HeaderMap| async move {
                *web.accept_encoding.lock().unwrap() = headers
                    .get(header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                encoded("gzip", gzip(GZIP_TEXT.as_bytes()))
            }),
        )
        .route(
            "/deflate",
            get(|| async { encoded("deflate", zlib(GZIP_TEXT.as_bytes())) }),
        )
        .route(
            "/brotli",
            get(|| async { encoded("br", brotli(GZIP_TEXT.as_bytes())) }),
        )
        .route(
            "/gzip-bomb",
            get(|| async {
                let (deflated, plain) = deflate_run(b'a', BOMB_REPEATS);
                (
                    [
                        (header::CONTENT_TYPE, "text/plain"),
                        (header::CONTENT_ENCODING, "gzip"),
                    ],
                    gzip_wrap(&deflated, &plain),
                )
            }),
        )
        .route(
            "/redirect/{n}",
            get(|Path(n): Path<u32>| async move {
                if n == 0 {
                    typed("text/plain", "arrived")
                } else {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, format!("/redirect/{}", n - 1))],
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/redirect-to",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let to = q.get("to").cloned().unwrap_or_default();
                (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/slow-body",
            get(|| async {
                let first = futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from("start ")) });
                let rest = futures::stream::once(async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok::<_, std::io::Error>(Bytes::from("end"))
                });
                typed("text/plain", Body::from_stream(first.chain(rest)))
            }),
        )
        .route(
            "/big",
            get(|Query(q): Query<HashMap<String, usize>>| async move {
                typed("text/plain", vec![b'x'; q.get("n").copied().unwrap_or(0)])
            }),
        )
        .route(
            "/big-chunked",
            get(|Query(q): Query<HashMap<String, usize>>| async move {
                let n = q.get("n").copied().unwrap_or(0);
                let chunks = (0..n.div_ceil(100))
                    .map(move |i| Ok::<_, std::io::Error>(Bytes::from(vec![b'y'; 100.min(n - i * 100)])));
                typed("text/plain", Body::from_stream(futures::stream::iter(chunks)))
            }),
        )
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move {
                (
                    StatusCode::from_u16(code).unwrap(),
                    [(header::CONTENT_TYPE, "text/plain")],
                    "not here",
                )
                    .into_response()
            }),
        )
        .route(
            "/counted",
            get(|State(web): State<Shared>| async move {
                let n = web.hit("counted");
                (
                    [
                        (header::CONTENT_TYPE, "text/plain".to_owned()),
                        (header::ETAG, "\"v1\"".to_owned()),
                        (header::LAST_MODIFIED, "Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
                    ],
                    format!("counted {n}"),
                )
            }),
        )
        .route(
            "/slow-counted",
            get(|State(web): State<Shared>| async move {
                let n = web.hit("slow-counted");
                tokio::time::sleep(Duration::from_millis(600)).await;
                format!("slow {n}")
            }),
        )
        .route(
            "/flaky",
            get(|State(web): State<Shared>| async move {
                let n = web.hit("flaky");
                if web.failing.load(Ordering::SeqCst) {
                    (StatusCode::SERVICE_UNAVAILABLE, "down".to_owned()).into_response()
                } else {
                    format!("flaky {n}").into_response()
                }
            }),
        )
        .route(
            "/page/{id}",
            get(|State(web): State<Shared>, Path(id): Path<String>| async move {
                web.hit(&format!("page/{id}"));
                typed("text/plain", format!("{id}:{}", "p".repeat(4000)))
            }),
        )
        .route(
            "/ua",
            get(|headers: HeaderMap| async move {
                headers
                    .get(header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            }),
        )
        .with_state(web)
}

/// Starts the web on `ip:0`; returns its base URL and state.
async fn serve_on(ip: &str) -> (String, SocketAddr, Shared) {
    let web: Shared = Arc::default();
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(web.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), addr, web)
}

async fn serve() -> (String, SocketAddr, Shared) {
    serve_on("127.0.0.1").await
}

fn open() -> Fetcher {
    Fetcher::new(FetcherConfig {
        allow_private: true,
        ..FetcherConfig::default()
    })
}

fn guarded() -> Fetcher {
    Fetcher::new(FetcherConfig {
        timeout: Duration::from_secs(5),
        ..FetcherConfig::default()
    })
}

fn with(config: FetcherConfig) -> Fetcher {
    Fetcher::new(FetcherConfig {
        allow_private: true,
        ..config
    })
}

// ---------------------------------------------------------------------------------------
// Configuration.

#[test]
fn defaults_are_the_documented_ones() {
    let c = FetcherConfig::default();
    assert_eq!(c.timeout, Duration::from_secs(15));
    assert_eq!(c.max_redirects, 5);
    assert_eq!(c.max_body_bytes, 10 * 1024 * 1024);
    assert_eq!(
        c.user_agent,
        format!("Parallax/{} (+self-hosted)", env!("CARGO_PKG_VERSION"))
    );
    assert!(!c.allow_private);
    assert!(c.allowed_addresses.is_empty());
    assert_eq!(c.max_per_host, 6);
}

#[tokio::test]
async fn sends_the_user_agent() {
    let (base, _, _) = serve().await;
    let page = open().fetch(&format!("{base}/ua")).await.unwrap();
    assert_eq!(
        page.text.as_deref(),
        Some(FetcherConfig::default().user_agent.as_str())
    );
}

// ---------------------------------------------------------------------------------------
// Content kinds and charsets.

#[tokio::test]
async fn html_with_header_charset_is_decoded() {
    let (base, _, _) = serve().await;
    let page = open().fetch(&format!("{base}/html-latin1")).await.unwrap();
    assert_eq!(page.content_type, ContentKind::Html);
    assert_eq!(page.status, 200);
    assert_eq!(page.mime.as_deref(), Some("text/html; charset=iso-8859-1"));
    assert_eq!(page.charset.as_deref(), Some("windows-1252"));
    assert!(
        page.text.as_deref().unwrap().contains("café naïve"),
        "{:?}",
        page.text
    );
    assert_eq!(
        &page.body[..],
        &b"<html><body><p>caf\xe9 na\xefve</p></body></html>"[..]
    );
}

#[tokio::test]
async fn html_meta_charsets_are_honoured() {
    let (base, _, _) = serve().await;
    let f = open();
    let page = f.fetch(&format!("{base}/html-meta")).await.unwrap();
    assert_eq!(page.charset.as_deref(), Some("Shift_JIS"));
    assert!(
        page.text.as_deref().unwrap().contains("<body>日本</body>"),
        "{:?}",
        page.text
    );

    let page = f.fetch(&format!("{base}/html-http-equiv")).await.unwrap();
    assert_eq!(page.charset.as_deref(), Some("windows-1251"));
    assert!(
        page.text.as_deref().unwrap().contains("Привет"),
        "{:?}",
        page.text
    );
}

#[tokio::test]
async fn undeclared_charsets_fall_back_sensibly() {
    let (base, _, _) = serve().await;
    let f = open();
    let page = f.fetch(&format!("{base}/html-utf8")).await.unwrap();
    assert_eq!(page.charset.as_deref(), Some("UTF-8"));
    assert!(page.text.as_deref().unwrap().contains("naïve 日本"));

    let page = f
        .fetch(&format!("{base}/html-latin1-undeclared"))
        .await
        .unwrap();
    assert_eq!(page.charset.as_deref(), Some("windows-1252"));
    assert!(page.text.as_deref().unwrap().contains("café"));

    // A byte-order mark beats the header.
    let page = f.fetch(&format!("{base}/html-bom")).await.unwrap();
    assert_eq!(page.charset.as_deref(), Some("UTF-8"));
    assert_eq!(
        page.text.as_deref(),
        Some("<html><body>naïve</body></html>")
    );
}

#[tokio::test]
async fn plain_text_pdf_and_other_kinds() {
    let (base, _, _) = serve().await;
    let f = open();

    let page = f.fetch(&format!("{base}/text")).await.unwrap();
    assert_eq!(page.content_type, ContentKind::Text);
    assert_eq!(page.text.as_deref(), Some("plain text about Zyx\n"));

    let page = f.fetch(&format!("{base}/pdf")).await.unwrap();
    assert_eq!(page.content_type, ContentKind::Pdf);
    assert_eq!(page.text, None);
    assert_eq!(page.charset, None);
    assert!(page.body.starts_with(b"%PDF-1.4"));
    assert!(page.body.ends_with(b"%%EOF\n"));

    let page = f.fetch(&format!("{base}/octet-pdf")).await.unwrap();
    assert_eq!(page.content_type, ContentKind::Pdf);

    let page = f.fetch(&format!("{base}/png")).await.unwrap();
    assert_eq!(
        page.content_type,
        ContentKind::Other("image/png".to_owned())
    );
    assert_eq!(page.text, None);

    let page = f.fetch(&format!("{base}/untyped")).await.unwrap();
    assert_eq!(page.content_type, ContentKind::Html);
}

#[tokio::test]
async fn page_metadata_is_recorded() {
    let (base, _, _) = serve().await;
    let before = chrono::Utc::now().timestamp_micros();
    let page = open().fetch(&format!("{base}/counted")).await.unwrap();
    let after = chrono::Utc::now().timestamp_micros();
    assert!(before <= page.fetched_at && page.fetched_at <= after);
    assert!(page.fetched_at_utc().is_some());
    assert_eq!(page.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        page.last_modified.as_deref(),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    assert_eq!(page.requested_url, format!("{base}/counted"));
    assert_eq!(page.url, format!("{base}/counted"));
    assert_eq!(page.text.as_deref(), Some("counted 1"));
    {
        use sha2::Digest;
        assert_eq!(
            page.content_hash(),
            hex::encode(sha2::Sha256::digest(b"counted 1"))
        );
    }
}

// ---------------------------------------------------------------------------------------
// Compression.

#[tokio::test]
async fn gzip_deflate_and_brotli_bodies_are_decompressed() {
    let (base, _, web) = serve().await;
    let f = open();
    let served = gzip(GZIP_TEXT.as_bytes());
    assert_ne!(&served[..], GZIP_TEXT.as_bytes());
    for path in ["gzip", "deflate", "brotli"] {
        let page = f.fetch(&format!("{base}/{path}")).await.unwrap();
        assert_eq!(page.text.as_deref(), Some(GZIP_TEXT), "{path}");
        assert_eq!(&page.body[..], GZIP_TEXT.as_bytes(), "{path}");
        assert_eq!(page.content_type, ContentKind::Html, "{path}");
    }
    let accepted = web
        .accept_encoding
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_default();
    for encoding in ["gzip", "br", "deflate"] {
        assert!(accepted.contains(encoding), "{accepted}");
    }
}

#[tokio::test]
async fn size_cap_counts_decompressed_bytes() {
    let (base, _, _) = serve().await;
    let (deflated, plain) = deflate_run(b'a', BOMB_REPEATS);
    let compressed = gzip_wrap(&deflated, &plain).len();
    assert!(
        compressed < 10_000,
        "the bomb must be small on the wire: {compressed}"
    );

    // Within a large cap the hand-made stream inflates correctly…
    let page = with(FetcherConfig {
        max_body_bytes: 200_000,
        ..FetcherConfig::default()
    })
    .fetch(&format!("{base}/gzip-bomb"))
    .await
    .unwrap();
    assert_eq!(page.body.len(), 1 + 258 * BOMB_REPEATS);
    assert!(page.body.iter().all(|&b| b == b'a'));

    // …and a cap above its wire size but below its inflated size refuses it.
    let err = with(FetcherConfig {
        max_body_bytes: 10_000,
        ..FetcherConfig::default()
    })
    .fetch(&format!("{base}/gzip-bomb"))
    .await
    .unwrap_err();
    assert_eq!(err.kind(), FetchErrorKind::TooLarge, "{err}");
}

// ---------------------------------------------------------------------------------------
// Limits.

#[tokio::test]
async fn body_size_cap_refuses_larger_bodies() {
    let (base, _, _) = serve().await;
    let f = with(FetcherConfig {
        max_body_bytes: 1000,
        ..FetcherConfig::default()
    });
    let page = f.fetch(&format!("{base}/big?n=1000")).await.unwrap();
    assert_eq!(page.body.len(), 1000);

    let err = f.fetch(&format!("{base}/big?n=1001")).await.unwrap_err();
    assert_eq!(err.error_type(), "too_large");
    assert!(
        matches!(
            err,
            FetchError::TooLarge {
                limit: 1000,
                declared: Some(1001),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("larger than the limit of 1000 bytes"),
        "{err}"
    );

    let page = f
        .fetch(&format!("{base}/big-chunked?n=1000"))
        .await
        .unwrap();
    assert_eq!(page.body.len(), 1000);
    let err = f
        .fetch(&format!("{base}/big-chunked?n=5000"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::TooLarge {
                limit: 1000,
                declared: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn five_redirects_are_followed_and_the_sixth_refused() {
    let (base, _, _) = serve().await;
    let f = open();
    let page = f.fetch(&format!("{base}/redirect/5")).await.unwrap();
    assert_eq!(page.requested_url, format!("{base}/redirect/5"));
    assert_eq!(page.url, format!("{base}/redirect/0"));
    assert_eq!(page.text.as_deref(), Some("arrived"));

    let err = f.fetch(&format!("{base}/redirect/6")).await.unwrap_err();
    assert_eq!(err.kind(), FetchErrorKind::TooManyRedirects, "{err}");
    assert_eq!(err.error_type(), "too_many_redirects");
    assert!(err.to_string().contains("more than 5 times"), "{err}");

    let strict = with(FetcherConfig {
        max_redirects: 0,
        ..FetcherConfig::default()
    });
    assert!(strict.fetch(&format!("{base}/redirect/0")).await.is_ok());
    let err = strict
        .fetch(&format!("{base}/redirect/1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), FetchErrorKind::TooManyRedirects, "{err}");
}

#[tokio::test]
async fn slow_responses_time_out() {
    let (base, _, _) = serve().await;
    let f = with(FetcherConfig {
        timeout: Duration::from_millis(300),
        ..FetcherConfig::default()
    });
    for path in ["slow", "slow-body"] {
        let started = Instant::now();
        let err = f.fetch(&format!("{base}/{path}")).await.unwrap_err();
        assert_eq!(err.kind(), FetchErrorKind::Timeout, "{path}: {err}");
        assert!(started.elapsed() < Duration::from_secs(3), "{path}");
        assert!(
            matches!(err, FetchError::Timeout { timeout, .. } if timeout == Duration::from_millis(300))
        );
    }
    // A per-call timeout overrides the configured one.
    let started = Instant::now();
    let err = open()
        .fetch_with_timeout(&format!("{base}/slow"), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "timeout", "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn error_statuses_are_http_errors() {
    let (base, _, _) = serve().await;
    let f = open();
    let err = f.fetch(&format!("{base}/status/404")).await.unwrap_err();
    assert_eq!(err.kind(), FetchErrorKind::HttpError);
    assert_eq!(err.error_type(), "http_error");
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.content(), Some("not here"));
    assert_eq!(err.url(), format!("{base}/status/404"));
    assert!(err.to_string().contains("HTTP 404 Not Found"), "{err}");

    let err = f.fetch(&format!("{base}/status/503")).await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));

    // The status of the final hop counts.
    let err = f
        .fetch(&format!("{base}/redirect-to?to=/status/410"))
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(410));

    // Other kinds have no status.
    let err = f.fetch("ftp://example.invalid/").await.unwrap_err();
    assert_eq!(err.http_status(), None);
}

#[tokio::test]
async fn connection_failures_are_connect_errors() {
    // Bind, learn the port, close: nothing listens there now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = open()
        .fetch(&format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), FetchErrorKind::Connect, "{err}");
}

#[tokio::test]
async fn unresolvable_names_are_dns_errors() {
    // A 64-byte label cannot be encoded in a DNS query, so the system resolver fails on
    // the spot without sending one (a plain unknown name would be asked of the configured
    // name server, off this machine).
    let name = format!("{}.invalid", "a".repeat(64));
    let err = open().fetch(&format!("http://{name}/")).await.unwrap_err();
    assert_eq!(err.kind(), FetchErrorKind::Dns, "{err}");
    match &err {
        FetchError::Dns { host, .. } => assert_eq!(host, &name),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("could not be resolved"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Schemes and URLs.

#[tokio::test]
async fn only_http_and_https_are_fetched() {
    let f = open();
    for url in [
        "file:///etc/passwd",
        "ftp://example.invalid/file",
        "gopher://example.invalid/",
        "data:text/plain,hello",
        "javascript:alert(1)",
        "localhost:8080/x",
    ] {
        let err = f.fetch(url).await.unwrap_err();
        assert_eq!(
            err.kind(),
            FetchErrorKind::UnsupportedScheme,
            "{url}: {err}"
        );
        assert!(err.to_string().contains("only http and https"), "{err}");
    }
    for url in ["not a url", "/relative/path", "http://", ""] {
        let err = f.fetch(url).await.unwrap_err();
        assert_eq!(err.kind(), FetchErrorKind::InvalidUrl, "{url}: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// The SSRF guard.

fn assert_refused(err: &FetchError, address: &str, class: AddressClass) {
    match err {
        FetchError::SsrfRefused {
            address: a,
            class: c,
            ..
        } => {
            assert_eq!(a.to_string(), address, "{err}");
            assert_eq!(*c, class, "{err}");
        }
        other => panic!("expected ssrf_refused for {address}, got {other:?}"),
    }
    assert_eq!(err.error_type(), "ssrf_refused");
    assert!(
        err.to_string()
            .contains("start the server with --allow-private-fetch to allow it"),
        "{err}"
    );
}

#[tokio::test]
async fn loopback_is_refused_by_default() {
    let (base, addr, web) = serve().await;
    let port = addr.port();
    let f = guarded();

    let url = format!("{base}/counted");
    let err = f.fetch(&url).await.unwrap_err();
    assert_refused(&err, "127.0.0.1", AddressClass::Loopback);
    assert_eq!(
        err.to_string(),
        format!("refused to fetch {url}: 127.0.0.1 is a loopback address; start the server with --allow-private-fetch to allow it")
    );

    for (url, address) in [
        (format!("http://[::1]:{port}/counted"), "::1"),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/counted"),
            "::ffff:127.0.0.1",
        ),
        (format!("http://0x7f000001:{port}/counted"), "127.0.0.1"),
        (format!("http://2130706433:{port}/counted"), "127.0.0.1"),
        (format!("http://127.1:{port}/counted"), "127.0.0.1"),
        (format!("http://0177.0.0.1:{port}/counted"), "127.0.0.1"),
        (format!("http://127.0.0.2:{port}/counted"), "127.0.0.2"),
        (format!("https://127.0.0.1:{port}/counted"), "127.0.0.1"),
    ] {
        let err = f.fetch(&url).await.unwrap_err();
        assert_refused(&err, address, AddressClass::Loopback);
    }

    // A name that resolves to loopback is refused after resolution.
    let err = f
        .fetch(&format!("http://localhost:{port}/counted"))
        .await
        .unwrap_err();
    match &err {
        FetchError::SsrfRefused {
            host,
            via_dns,
            class,
            ..
        } => {
            assert_eq!(host, "localhost");
            assert!(via_dns);
            assert_eq!(*class, AddressClass::Loopback);
        }
        other => panic!("expected ssrf_refused, got {other:?}"),
    }
    assert!(err.to_string().contains("localhost resolves to "), "{err}");

    // Nothing reached the server.
    assert_eq!(web.hits("counted"), 0);
    // The same URL is fine once private fetches are allowed.
    assert!(open().fetch(&url).await.is_ok());
    assert_eq!(web.hits("counted"), 1);
}

#[tokio::test]
async fn private_classes_are_refused_before_connecting() {
    let f = guarded();
    for (url, address, class) in [
        ("http://10.0.0.1/", "10.0.0.1", AddressClass::Private),
        (
            "http://172.16.5.4:8080/x",
            "172.16.5.4",
            AddressClass::Private,
        ),
        (
            "http://192.168.1.1/admin",
            "192.168.1.1",
            AddressClass::Private,
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254",
            AddressClass::LinkLocal,
        ),
        (
            "http://100.64.0.1/",
            "100.64.0.1",
            AddressClass::SharedAddressSpace,
        ),
        ("http://0.0.0.0/", "0.0.0.0", AddressClass::Unspecified),
        ("http://0.1.2.3/", "0.1.2.3", AddressClass::ThisNetwork),
        ("http://224.0.0.1/", "224.0.0.1", AddressClass::Multicast),
        (
            "http://255.255.255.255/",
            "255.255.255.255",
            AddressClass::Broadcast,
        ),
        ("http://[fe80::1]/", "fe80::1", AddressClass::LinkLocal),
        ("http://[fd00::1]/", "fd00::1", AddressClass::UniqueLocal),
        ("http://[::]/", "::", AddressClass::Unspecified),
        ("http://[ff02::1]/", "ff02::1", AddressClass::Multicast),
        (
            "http://[::ffff:10.0.0.1]/",
            "::ffff:10.0.0.1",
            AddressClass::Private,
        ),
        (
            "http://[::ffff:169.254.169.254]/",
            "::ffff:169.254.169.254",
            AddressClass::LinkLocal,
        ),
        (
            "http://[64:ff9b::a9fe:a9fe]/",
            "64:ff9b::a9fe:a9fe",
            AddressClass::LinkLocal,
        ),
    ] {
        let started = Instant::now();
        let err = f.fetch(url).await.unwrap_err();
        assert_refused(&err, address, class);
        // Refused on the spot, not after a connection attempt.
        assert!(started.elapsed() < Duration::from_secs(1), "{url}");
    }
    // `check_url` gives the same verdict without fetching.
    assert_eq!(
        f.check_url("http://169.254.169.254/").unwrap_err().kind(),
        FetchErrorKind::SsrfRefused
    );
    assert!(f.check_url("http://example.invalid/").is_ok());
}

#[tokio::test]
async fn redirects_to_forbidden_addresses_are_refused() {
    // Server A on 127.0.0.1 is explicitly allowed; everything else stays forbidden.
    let (a, a_addr, a_web) = serve().await;
    let (b, b_addr, b_web) = serve_on("127.0.0.2").await;
    let f = Fetcher::new(FetcherConfig {
        timeout: Duration::from_secs(5),
        allowed_addresses: vec![a_addr.ip()],
        ..FetcherConfig::default()
    });
    let via = |to: &str| format!("{a}/redirect-to?to={to}");

    // Control: the allowed address, directly and through a redirect.
    assert!(f.fetch(&format!("{a}/counted")).await.is_ok());
    assert!(f.fetch(&via(&format!("{a}/counted"))).await.is_ok());
    assert_eq!(a_web.hits("counted"), 2);

    // Another loopback address (where server B really listens) is refused on the hop.
    let target = format!("{b}/counted");
    let err = f.fetch(&via(&target)).await.unwrap_err();
    assert_refused(&err, "127.0.0.2", AddressClass::Loopback);
    match &err {
        FetchError::SsrfRefused {
            url,
            redirected_from,
            ..
        } => {
            assert_eq!(url, &target);
            assert_eq!(redirected_from.as_deref(), Some(via(&target).as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("refused to follow the redirect from "),
        "{err}"
    );
    let port = b_addr.port();
    let err = f
        .fetch(&via(&format!("http://0x7f000002:{port}/counted")))
        .await
        .unwrap_err();
    assert_refused(&err, "127.0.0.2", AddressClass::Loopback);
    assert_eq!(b_web.hits("counted"), 0);

    for (to, address, class) in [
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254",
            AddressClass::LinkLocal,
        ),
        ("http://10.0.0.1/", "10.0.0.1", AddressClass::Private),
        (
            "http://[::ffff:10.0.0.1]/",
            "::ffff:10.0.0.1",
            AddressClass::Private,
        ),
        ("http://[::1]/", "::1", AddressClass::Loopback),
    ] {
        let err = f.fetch(&via(to)).await.unwrap_err();
        assert_refused(&err, address, class);
    }

    // A redirect to another scheme is refused too.
    let err = f.fetch(&via("file:///etc/passwd")).await.unwrap_err();
    assert_eq!(err.kind(), FetchErrorKind::UnsupportedScheme, "{err}");
}

#[tokio::test]
async fn redirects_to_names_of_forbidden_addresses_are_refused_after_resolution() {
    // Start on server B (127.0.0.2, allowed) and redirect to `localhost`, which resolves to
    // loopback addresses that are not allowed; server A listens on 127.0.0.1 with that port.
    let (_, a_addr, a_web) = serve().await;
    let (b, b_addr, _) = serve_on("127.0.0.2").await;
    let f = Fetcher::new(FetcherConfig {
        timeout: Duration::from_secs(5),
        allowed_addresses: vec![b_addr.ip()],
        ..FetcherConfig::default()
    });
    let target = format!("http://localhost:{}/counted", a_addr.port());
    let start = format!("{b}/redirect-to?to={target}");
    let err = f.fetch(&start).await.unwrap_err();
    match &err {
        FetchError::SsrfRefused {
            host,
            via_dns,
            class,
            ..
        } => {
            assert_eq!(host, "localhost");
            assert!(via_dns);
            assert_eq!(*class, AddressClass::Loopback);
        }
        other => panic!("expected ssrf_refused, got {other:?}"),
    }
    assert!(err.to_string().contains("localhost"), "{err}");
    assert_eq!(a_web.hits("counted"), 0);

    // Control: allow every address `localhost` may resolve to, and the same chain arrives,
    // through the guarded resolver.
    let f = Fetcher::new(FetcherConfig {
        timeout: Duration::from_secs(5),
        allowed_addresses: vec![
            b_addr.ip(),
            "127.0.0.1".parse().unwrap(),
            "::1".parse().unwrap(),
        ],
        ..FetcherConfig::default()
    });
    let page = f.fetch(&start).await.unwrap();
    assert_eq!(page.url, target);
    assert_eq!(a_web.hits("counted"), 1);
}

#[test]
fn ip_classifier_covers_every_class_and_boundary() {
    use AddressClass::*;
    let cases: &[(&str, AddressClass)] = &[
        // IPv4
        ("0.0.0.0", Unspecified),
        ("0.0.0.1", ThisNetwork),
        ("0.255.255.255", ThisNetwork),
        ("1.0.0.0", Public),
        ("1.1.1.1", Public),
        ("8.8.8.8", Public),
        ("9.255.255.255", Public),
        ("10.0.0.0", Private),
        ("10.255.255.255", Private),
        ("11.0.0.0", Public),
        ("100.63.255.255", Public),
        ("100.64.0.0", SharedAddressSpace),
        ("100.127.255.255", SharedAddressSpace),
        ("100.128.0.0", Public),
        ("126.255.255.255", Public),
        ("127.0.0.0", Loopback),
        ("127.0.0.1", Loopback),
        ("127.255.255.255", Loopback),
        ("128.0.0.0", Public),
        ("169.253.255.255", Public),
        ("169.254.0.0", LinkLocal),
        ("169.254.169.254", LinkLocal),
        ("169.254.255.255", LinkLocal),
        ("169.255.0.0", Public),
        ("172.15.255.255", Public),
        ("172.16.0.0", Private),
        ("172.31.255.255", Private),
        ("172.32.0.0", Public),
        ("191.255.255.255", Public),
        ("192.0.0.0", Reserved),
        ("192.0.0.255", Reserved),
        ("192.0.1.0", Public),
        ("192.0.2.1", Documentation),
        ("192.167.255.255", Public),
        ("192.168.0.0", Private),
        ("192.168.255.255", Private),
        ("192.169.0.0", Public),
        ("198.17.255.255", Public),
        ("198.18.0.0", Benchmarking),
        ("198.19.255.255", Benchmarking),
        ("198.20.0.0", Public),
        ("198.51.100.7", Documentation),
        ("203.0.113.9", Documentation),
        ("223.255.255.255", Public),
        ("224.0.0.0", Multicast),
        ("239.255.255.255", Multicast),
        ("240.0.0.0", Reserved),
        ("255.255.255.254", Reserved),
        ("255.255.255.255", Broadcast),
        // IPv6
        ("::", Unspecified),
        ("::1", Loopback),
        ("::2", ThisNetwork), // IPv4-compatible 0.0.0.2
        ("::ffff:0.0.0.0", Unspecified),
        ("::ffff:127.0.0.1", Loopback),
        ("::ffff:10.1.2.3", Private),
        ("::ffff:172.16.0.1", Private),
        ("::ffff:192.168.0.1", Private),
        ("::ffff:169.254.169.254", LinkLocal),
        ("::ffff:100.64.0.1", SharedAddressSpace),
        ("::ffff:224.0.0.1", Multicast),
        ("::ffff:255.255.255.255", Broadcast),
        ("::ffff:8.8.8.8", Public),
        ("::127.0.0.1", Loopback),
        ("::8.8.8.8", Public),
        ("64:ff9b::7f00:1", Loopback),
        ("64:ff9b::a00:1", Private),
        ("64:ff9b::808:808", Public),
        ("64:ff9b:1::1", Private),
        ("2002:7f00:1::1", Loopback),
        ("2002:c0a8:101::1", Private),
        ("2002:808:808::1", Public),
        ("fe80::1", LinkLocal),
        ("febf:ffff::1", LinkLocal),
        ("fec0::1", Reserved),
        ("fc00::1", UniqueLocal),
        ("fdff:ffff::1", UniqueLocal),
        ("fe00::1", Reserved),
        ("ff00::1", Multicast),
        ("ff02::1", Multicast),
        ("ff0e::1", Multicast),
        ("2001:db8::1", Documentation),
        ("2001::1", Reserved),
        ("2001:2::1", Benchmarking),
        ("100::1", Reserved),
        ("1::1", Reserved),
        ("4000::1", Reserved),
        ("2000::1", Public),
        ("3fff:ffff::1", Public),
        ("2606:4700:4700::1111", Public),
        ("2001:4860:4860::8888", Public),
    ];
    for (text, expected) in cases {
        let ip: IpAddr = text.parse().unwrap();
        assert_eq!(classify_ip(ip), *expected, "{text}");
        assert_eq!(expected.is_forbidden(), *expected != Public, "{text}");
    }
    assert_eq!(Loopback.describe(), "a loopback address");
    assert_eq!(LinkLocal.as_str(), "link_local");
    assert!(!Public.is_forbidden());
}

#[test]
fn error_kinds_have_stable_names() {
    let kinds = [
        (FetchErrorKind::InvalidUrl, "invalid_url"),
        (FetchErrorKind::UnsupportedScheme, "unsupported_scheme"),
        (FetchErrorKind::SsrfRefused, "ssrf_refused"),
        (FetchErrorKind::Dns, "dns"),
        (FetchErrorKind::Connect, "connect"),
        (FetchErrorKind::Timeout, "timeout"),
        (FetchErrorKind::TooManyRedirects, "too_many_redirects"),
        (FetchErrorKind::HttpError, "http_error"),
        (FetchErrorKind::TooLarge, "too_large"),
        (FetchErrorKind::Network, "network"),
    ];
    for (kind, name) in kinds {
        assert_eq!(kind.as_str(), name);
        assert_eq!(kind.to_string(), name);
    }
}

// ---------------------------------------------------------------------------------------
// The cache.

#[test]
fn urls_are_normalised_for_the_cache() {
    assert_eq!(
        normalize_url("HTTP://Example.COM:80/a/./b/../c?q=1#frag").unwrap(),
        "http://example.com/a/c?q=1"
    );
    assert_eq!(
        normalize_url("http://0x7f000001/").unwrap(),
        "http://127.0.0.1/"
    );
    assert_ne!(
        normalize_url("http://example.com/?a=1&b=2").unwrap(),
        normalize_url("http://example.com/?b=2&a=1").unwrap()
    );
    assert_eq!(
        normalize_url("not a url").unwrap_err().kind(),
        FetchErrorKind::InvalidUrl
    );
}

#[tokio::test]
async fn cache_hits_and_misses_follow_max_age() {
    let (base, _, web) = serve().await;
    let cache = FetchCache::new(open(), 1 << 20);
    let url = format!("{base}/counted");
    let hour = Duration::from_secs(3600);

    let first = cache.fetch_cached(&url, hour).await.unwrap();
    let second = cache.fetch_cached(&url, hour).await.unwrap();
    assert_eq!(web.hits("counted"), 1);
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(first.text.as_deref(), Some("counted 1"));

    // Same page under another spelling of the URL.
    let third = cache
        .fetch_cached(
            &format!("{}/./counted#section", base.replace("http", "HTTP")),
            hour,
        )
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&first, &third));
    assert_eq!(web.hits("counted"), 1);
    assert!(cache.get(&url, hour).is_some());

    // Zero max age always fetches.
    let fresh = cache.fetch_cached(&url, Duration::ZERO).await.unwrap();
    assert_eq!(web.hits("counted"), 2);
    assert_eq!(fresh.text.as_deref(), Some("counted 2"));

    // An entry older than max_age is refetched, and the new one replaces it.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let short = Duration::from_millis(1000);
    assert!(cache.get(&url, short).is_none());
    let renewed = cache.fetch_cached(&url, short).await.unwrap();
    assert_eq!(web.hits("counted"), 3);
    assert_eq!(renewed.text.as_deref(), Some("counted 3"));
    let again = cache.fetch_cached(&url, short).await.unwrap();
    assert_eq!(web.hits("counted"), 3);
    assert!(Arc::ptr_eq(&renewed, &again));
    assert_eq!(cache.len(), 1);

    let with = cache
        .fetch_with(&url, &CacheOptions::max_age(hour))
        .await
        .unwrap();
    assert_eq!(with.origin, CacheOrigin::Cache);
    let with = cache
        .fetch_with(&url, &CacheOptions::max_age(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(with.origin, CacheOrigin::Live);
}

#[tokio::test]
async fn failures_are_not_cached_but_stale_pages_can_stand_in() {
    let (base, _, web) = serve().await;
    let cache = FetchCache::new(open(), 1 << 20);
    let url = format!("{base}/flaky");
    let hour = Duration::from_secs(3600);

    web.failing.store(true, Ordering::SeqCst);
    let err = cache.fetch_cached(&url, hour).await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    assert!(cache.is_empty());
    let err = cache.fetch_cached(&url, hour).await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(web.hits("flaky"), 2);

    web.failing.store(false, Ordering::SeqCst);
    let page = cache.fetch_cached(&url, hour).await.unwrap();
    assert_eq!(page.text.as_deref(), Some("flaky 3"));

    // The live fetch fails again: with fallback the old page answers, without it the error.
    web.failing.store(true, Ordering::SeqCst);
    let options = CacheOptions {
        max_age: Duration::ZERO,
        timeout: None,
        stale_fallback: true,
    };
    let stale = cache.fetch_with(&url, &options).await.unwrap();
    assert_eq!(stale.page.text.as_deref(), Some("flaky 3"));
    match &stale.origin {
        CacheOrigin::StaleFallback(e) => assert_eq!(e.http_status(), Some(503)),
        other => panic!("expected a stale fallback, got {other:?}"),
    }
    let err = cache
        .fetch_with(
            &url,
            &CacheOptions {
                stale_fallback: false,
                ..options
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(web.hits("flaky"), 5);
    // The failure did not replace the stored page.
    assert_eq!(
        cache.get(&url, hour).unwrap().text.as_deref(),
        Some("flaky 3")
    );
}

#[tokio::test]
async fn cache_is_bounded_by_bytes_and_evicts_the_oldest() {
    let (base, _, web) = serve().await;
    let probe = open().fetch(&format!("{base}/page/1")).await.unwrap();
    let one = probe.size_bytes();
    // Room for two pages, not three.
    let cache = FetchCache::new(open(), one * 2 + one / 2);
    let hour = Duration::from_secs(3600);
    let page = |n: u32| format!("{base}/page/{n}");

    cache.fetch_cached(&page(1), hour).await.unwrap();
    cache.fetch_cached(&page(2), hour).await.unwrap();
    assert_eq!(cache.len(), 2);
    cache.fetch_cached(&page(3), hour).await.unwrap();
    assert_eq!(cache.len(), 2);
    assert!(cache.size_bytes() <= one * 2 + one / 2);
    assert!(
        cache.get(&page(1), hour).is_none(),
        "the oldest page is evicted"
    );
    assert!(cache.get(&page(2), hour).is_some());
    assert!(cache.get(&page(3), hour).is_some());

    cache.fetch_cached(&page(1), hour).await.unwrap();
    assert_eq!(web.hits("page/1"), 3); // probe, first fetch, refetch after eviction
    assert_eq!(web.hits("page/2"), 1);

    // A page larger than the whole budget is served but not stored.
    let tiny = FetchCache::new(open(), one / 2);
    tiny.fetch_cached(&page(4), hour).await.unwrap();
    assert!(tiny.is_empty());
    assert_eq!(tiny.size_bytes(), 0);
    tiny.fetch_cached(&page(4), hour).await.unwrap();
    assert_eq!(web.hits("page/4"), 2);
}

#[tokio::test]
async fn concurrent_requests_share_one_fetch() {
    let (base, _, web) = serve().await;
    let cache = FetchCache::new(open(), 1 << 20);
    let url = format!("{base}/slow-counted");
    let hour = Duration::from_secs(3600);

    let options = CacheOptions::max_age(hour);
    let results = futures::future::join_all((0..8).map(|_| cache.fetch_with(&url, &options))).await;
    assert_eq!(web.hits("slow-counted"), 1);
    let pages: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    for p in &pages {
        assert!(Arc::ptr_eq(&p.page, &pages[0].page));
        assert_eq!(p.origin, CacheOrigin::Live);
        assert_eq!(p.page.text.as_deref(), Some("slow 1"));
    }

    // Different URLs do not share.
    let other = format!("{base}/slow-counted?x=1");
    let (a, b) = tokio::join!(
        cache.fetch_cached(&url, Duration::ZERO),
        cache.fetch_cached(&other, Duration::ZERO)
    );
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(web.hits("slow-counted"), 3);
}

#[tokio::test]
async fn a_joined_fetch_respects_the_callers_timeout_and_cancellation_does_not_wedge() {
    let (base, _, web) = serve().await;
    let cache = FetchCache::new(open(), 1 << 20);
    let url = format!("{base}/slow-counted");
    let hour = Duration::from_secs(3600);

    // The first caller waits; a second joins with a shorter timeout and gives up alone.
    let patient = cache.fetch_cached(&url, hour);
    let hasty = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cache
            .fetch_with(
                &url,
                &CacheOptions {
                    max_age: hour,
                    timeout: Some(Duration::from_millis(100)),
                    stale_fallback: false,
                },
            )
            .await
    };
    let (patient, hasty) = tokio::join!(patient, hasty);
    assert_eq!(hasty.unwrap_err().kind(), FetchErrorKind::Timeout);
    assert_eq!(patient.unwrap().text.as_deref(), Some("slow 1"));
    assert_eq!(web.hits("slow-counted"), 1);

    // Every caller of an in-flight fetch gives up: the next call starts a new one.
    let other = format!("{base}/slow-counted?again");
    let dropped =
        tokio::time::timeout(Duration::from_millis(100), cache.fetch_cached(&other, hour)).await;
    assert!(dropped.is_err());
    let page = tokio::time::timeout(Duration::from_secs(5), cache.fetch_cached(&other, hour))
        .await
        .expect("a cancelled fetch must not wedge later calls")
        .unwrap();
    // A new request was made (the cancelled one may or may not have reached the server).
    let hits = web.hits("slow-counted");
    assert!(hits == 2 || hits == 3, "{hits}");
    assert_eq!(page.text, Some(format!("slow {hits}")));
}

#[tokio::test]
async fn refused_urls_are_refused_through_the_cache_too() {
    let (base, _, web) = serve().await;
    let cache = FetchCache::new(guarded(), 1 << 20);
    let err = cache
        .fetch_cached(&format!("{base}/counted"), Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), FetchErrorKind::SsrfRefused);
    assert_eq!(web.hits("counted"), 0);
    assert!(cache.is_empty());
}

// ---------------------------------------------------------------------------------------
// Politeness: fetches of one host at once.

/// A site whose `/slow` answers after `delay`, counting requests in flight and the most seen.
async fn counting_site(
    delay: Duration,
) -> (
    u16,
    Arc<(
        std::sync::atomic::AtomicUsize,
        std::sync::atomic::AtomicUsize,
    )>,
) {
    use std::sync::atomic::AtomicUsize;
    let counts: Arc<(AtomicUsize, AtomicUsize)> = Arc::default();
    let app = Router::new()
        .route(
            "/slow",
            get(
                move |State(counts): State<Arc<(AtomicUsize, AtomicUsize)>>| async move {
                    let now = counts.0.fetch_add(1, Ordering::SeqCst) + 1;
                    counts.1.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    counts.0.fetch_sub(1, Ordering::SeqCst);
                    typed("text/plain", "slow")
                },
            ),
        )
        .with_state(counts.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (port, counts)
}

/// A fetch that owns what it needs, to run beside others.
fn fetch_owned(
    fetcher: &Fetcher,
    url: String,
) -> impl std::future::Future<Output = Result<parallax_engine::fetch::FetchedPage, FetchError>> {
    let fetcher = fetcher.clone();
    async move { fetcher.fetch(&url).await }
}

#[tokio::test]
async fn fetches_of_one_host_wait_for_its_slots_and_other_hosts_do_not() {
    let (port, counts) = counting_site(Duration::from_millis(150)).await;
    let fetcher = with(FetcherConfig {
        max_per_host: 2,
        ..FetcherConfig::default()
    });
    let one_host: Vec<_> = (0..8)
        .map(|_| fetch_owned(&fetcher, format!("http://127.0.0.1:{port}/slow")))
        .collect();
    for page in futures::future::join_all(one_host).await {
        assert_eq!(page.unwrap().status, 200);
    }
    assert_eq!(
        counts.1.load(Ordering::SeqCst),
        2,
        "at most two at once on one host"
    );

    // The same server under two host names: each name has its own two slots.
    counts.1.store(0, Ordering::SeqCst);
    let two_hosts: Vec<_> = (0..8)
        .map(|i| {
            let host = if i % 2 == 0 { "127.0.0.1" } else { "localhost" };
            fetch_owned(&fetcher, format!("http://{host}:{port}/slow"))
        })
        .collect();
    for page in futures::future::join_all(two_hosts).await {
        assert_eq!(page.unwrap().status, 200);
    }
    assert_eq!(
        counts.1.load(Ordering::SeqCst),
        4,
        "two hosts, two slots each"
    );
}

#[tokio::test]
async fn the_wait_for_a_host_slot_counts_toward_the_timeout() {
    let (port, _) = counting_site(Duration::from_millis(800)).await;
    let fetcher = with(FetcherConfig {
        max_per_host: 1,
        ..FetcherConfig::default()
    });
    let url = format!("http://127.0.0.1:{port}/slow");
    let first = tokio::spawn(fetch_owned(&fetcher, url.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let second = fetcher
        .fetch_with_timeout(&url, Duration::from_millis(200))
        .await;
    assert_eq!(second.unwrap_err().kind(), FetchErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(first.await.unwrap().unwrap().status, 200);
}
