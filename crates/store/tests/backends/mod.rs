//! Opens each backend for the conformance suite.

use parallax_store::postgres::PgStore;
use parallax_store::sqlite::SqliteStore;
use parallax_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// The test database when `PARALLAX_TEST_DATABASE_URL` is not set.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh SQLite store in a temporary directory that lives as long as the process.
pub async fn sqlite() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("parallax-store-test-{}", uuid::Uuid::new_v4()));
    Arc::new(SqliteStore::open(&dir).expect("open sqlite store"))
}

/// A PostgreSQL store on a fresh schema (`px_test_<uuid>`) of the test database
/// (`PARALLAX_TEST_DATABASE_URL`, default [`DEFAULT_TEST_DATABASE_URL`]), so that tests never
/// see each other's runs.
///
/// If PostgreSQL is unreachable the test fails, unless `PARALLAX_SKIP_POSTGRES=1` (and `CI` is
/// not `true`): then it says so and runs on SQLite instead.
pub async fn postgres() -> Arc<dyn Store> {
    let url = std::env::var("PARALLAX_TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string());
    let config: tokio_postgres::Config = url.parse().unwrap_or_else(|e| {
        panic!("PARALLAX_TEST_DATABASE_URL={url:?} is not a PostgreSQL URL: {e}")
    });
    let connected = tokio::time::timeout(
        Duration::from_secs(10),
        config.connect(tokio_postgres::NoTls),
    )
    .await;
    let client = match connected {
        Ok(Ok((client, connection))) => {
            tokio::spawn(connection);
            client
        }
        Ok(Err(e)) => return unreachable(&url, &parallax_store::postgres::error_text(&e)).await,
        Err(_) => return unreachable(&url, "no answer within 10 s").await,
    };
    drop_dead_schemas(&client).await;
    let schema = format!(
        "px_test_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create schema {schema} in {url}: {}",
                parallax_store::postgres::error_text(&e)
            )
        });
    Arc::new(
        PgStore::connect_with_schema(&url, &schema)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "connect the PostgreSQL store on schema {schema}: {}",
                    parallax_store::postgres::error_text(&e)
                )
            }),
    )
}

/// Drops the schemas of test processes that have exited (`px_test_<pid>_<uuid>` with no
/// such pid alive), so the test database does not grow run after run. Schemas of live test
/// processes, this one included, are left alone.
async fn drop_dead_schemas(client: &tokio_postgres::Client) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let Ok(rows) = client
            .query(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'px\\_test\\_%'",
                &[],
            )
            .await
        else {
            return;
        };
        for row in rows {
            let name: String = row.get(0);
            let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
            let alive =
                pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .await;
            }
        }
    })
    .await;
}

async fn unreachable(url: &str, why: &str) -> Arc<dyn Store> {
    let message = format!(
        "PostgreSQL is unreachable at {url} ({why}). Start PostgreSQL there or point \
         PARALLAX_TEST_DATABASE_URL at one"
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{message}; CI=true, so the PostgreSQL suite may not be skipped");
    }
    if std::env::var("PARALLAX_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("NOTICE: {message}. PARALLAX_SKIP_POSTGRES=1: PostgreSQL SKIPPED, this test runs on SQLite instead");
        return sqlite().await;
    }
    panic!("{message}; set PARALLAX_SKIP_POSTGRES=1 to skip the PostgreSQL backend knowingly");
}
