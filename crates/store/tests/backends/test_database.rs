//! The PostgreSQL test database: one set of rules for every Rust test that needs it, the
//! conformance suite (`tests/backends`) and the unit tests of `src/postgres/` (which
//! include this file by path, so the library exports no test helpers).
//!
//! - **Where**: `PARALLAX_TEST_DATABASE_URL`, default [`DEFAULT_URL`].
//! - **Unreachable**: the test fails, and says how to skip. libtest has no runtime skip: a test
//!   that returned early would be reported as passed. So every test that needs PostgreSQL has
//!   [`MARKER`] in its name ([`connect`] checks it), and skipping them is filtering them out
//!   (`cargo test -- --skip needs_postgres`, which `PARALLAX_SKIP_POSTGRES=1 scripts/test`
//!   does), which libtest reports as "filtered out".
//! - **Schemas**: each test works in a fresh schema, `parallax_test_<unix seconds>_<uuid>`
//!   (the SDK suite names its servers' schemas the same way: `tests/sdk/support.py`). The
//!   name says when it was made; a schema older than [`MAX_TEST_AGE`] belongs to a test that
//!   has ended, however it ended, and [`connect`] drops those once per process (in the
//!   background) so the database does not grow run after run. Younger ones may belong to a
//!   test running right now, in any process on any machine, and are left alone. Age needs no
//!   process table and cannot be fooled by a reused pid.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The test database when `PARALLAX_TEST_DATABASE_URL` is not set.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Part of the name of every test that needs PostgreSQL: what skipping filters on.
pub const MARKER: &str = "needs_postgres";

/// Schemas older than this are dropped: far above the longest test run (the SDK suite's
/// shared servers live for a whole session, tens of minutes), so no running test loses its
/// schema, and short enough that a busy day of test runs leaves hundreds, not thousands.
pub const MAX_TEST_AGE: Duration = Duration::from_secs(6 * 60 * 60);

/// Prefix of every test schema. Not `px_test_`, the old pid-based names: the cleanup of
/// branches that still use them drops every name without a live pid in it.
const PREFIX: &str = "parallax_test_";

/// The test database URL.
pub fn url() -> String {
    std::env::var("PARALLAX_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// Connects to the test database, or fails the test saying how to start or skip PostgreSQL.
/// The first call in a process drops the expired test schemas.
pub async fn connect() -> (String, tokio_postgres::Client) {
    // libtest runs each test on a thread named after it (a runtime's worker threads are not
    // tests, nor is a harness-less main).
    if let Some(test) = std::thread::current().name() {
        assert!(
            test == "main" || test.starts_with("tokio-") || test.contains(MARKER),
            "test {test} connects to PostgreSQL, so its name must contain {MARKER:?}: \
             skipping PostgreSQL filters tests by that name"
        );
    }
    let url = url();
    let config: tokio_postgres::Config = url.parse().unwrap_or_else(|e| {
        panic!("PARALLAX_TEST_DATABASE_URL={url:?} is not a PostgreSQL URL: {e}")
    });
    let why = match tokio::time::timeout(
        Duration::from_secs(10),
        config.connect(tokio_postgres::NoTls),
    )
    .await
    {
        Ok(Ok((client, connection))) => {
            tokio::spawn(connection);
            drop_expired_schemas_in_background(&config);
            return (url, client);
        }
        Ok(Err(e)) => error_chain(&e),
        Err(_) => "no answer within 10 s".to_string(),
    };
    let hint = if std::env::var("PARALLAX_SKIP_POSTGRES").as_deref() == Ok("1") {
        " (PARALLAX_SKIP_POSTGRES=1 is read by scripts/test, which filters these tests out; \
         plain cargo test needs the filter itself)"
    } else {
        ""
    };
    panic!(
        "PostgreSQL is unreachable at {url} ({why}). Start PostgreSQL there or point \
         PARALLAX_TEST_DATABASE_URL at one. To skip the tests that need it, run \
         `PARALLAX_SKIP_POSTGRES=1 scripts/test` or `cargo test -- --skip {MARKER}`{hint}; \
         never with CI=true"
    );
}

/// An error with its causes ("error connecting to server" alone does not say why).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// A fresh test schema name, made now.
pub fn fresh_schema() -> String {
    schema_made_at(SystemTime::now())
}

/// The name of a test schema made at `made`.
pub fn schema_made_at(made: SystemTime) -> String {
    let secs = made
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!("{PREFIX}{secs}_{}", uuid::Uuid::new_v4().simple())
}

/// When a test schema was made, or `None` if `name` is not a test schema name.
fn made_at(name: &str) -> Option<SystemTime> {
    let (secs, id) = name.strip_prefix(PREFIX)?.split_once('_')?;
    let secs: u64 = secs.parse().ok()?;
    let is_uuid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    is_uuid.then(|| UNIX_EPOCH + Duration::from_secs(secs))
}

/// Drops the test schemas made more than [`MAX_TEST_AGE`] before `now`; returns their names.
/// Other schemas, test schemas of running tests among them, are left alone. A schema that
/// another process is dropping at the same time is not an error.
pub async fn drop_expired_schemas(
    client: &tokio_postgres::Client,
    now: SystemTime,
) -> Result<Vec<String>, tokio_postgres::Error> {
    let rows = client
        .query(
            // Oldest first (the names sort by age), if a process ends before it is done.
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'parallax\\_test\\_%' \
             ORDER BY nspname",
            &[],
        )
        .await?;
    let mut dropped = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        let expired = made_at(&name)
            .and_then(|made| now.duration_since(made).ok())
            .is_some_and(|age| age > MAX_TEST_AGE);
        if expired
            && client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                .await
                .is_ok()
        {
            dropped.push(name);
        }
    }
    Ok(dropped)
}

/// Starts [`drop_expired_schemas`] once per process, on a thread of its own: dropping a
/// schema takes tens of milliseconds, and no test should wait for a backlog of them. What is
/// left when the process exits is dropped by the next one.
fn drop_expired_schemas_in_background(config: &tokio_postgres::Config) {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let config = config.clone();
        let cleanup = move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the test schema cleanup");
            runtime.block_on(async {
                let Ok((client, connection)) = config.connect(tokio_postgres::NoTls).await else {
                    return;
                };
                tokio::spawn(connection);
                if let Err(e) = drop_expired_schemas(&client, SystemTime::now()).await {
                    eprintln!("NOTICE: could not drop expired test schemas: {e}");
                }
            });
        };
        let _ = std::thread::Builder::new()
            .name("test-schema-cleanup".into())
            .spawn(cleanup);
    });
}
