//! Opens each backend for the conformance suite.

use parallax_store::postgres::PgStore;
use parallax_store::sqlite::SqliteStore;
use parallax_store::Store;
use std::sync::Arc;

pub mod test_database;

/// A fresh SQLite store in a temporary directory that lives as long as the process.
pub async fn sqlite() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("parallax-store-test-{}", uuid::Uuid::new_v4()));
    Arc::new(SqliteStore::open(&dir).expect("open sqlite store"))
}

/// A PostgreSQL store on a fresh schema of the test database, so that tests never see each
/// other's runs. Fails the test if PostgreSQL is unreachable: see [`test_database`].
pub async fn postgres() -> Arc<dyn Store> {
    let (url, _client) = test_database::connect().await;
    let schema = test_database::fresh_schema();
    Arc::new(
        PgStore::connect_with_schema(&url, &schema)
            .await
            .unwrap_or_else(|e| panic!("connect the PostgreSQL store on schema {schema}: {e}")),
    )
}

#[cfg(test)]
mod tests {
    use super::test_database::{
        connect, drop_expired_schemas, fresh_schema, schema_made_at, MAX_TEST_AGE,
    };
    use std::time::{Duration, SystemTime};

    /// The cleanup drops what ended tests left and nothing a running test still uses.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn needs_postgres_cleanup_keeps_live_test_schemas() {
        let (_, client) = connect().await;
        let now = SystemTime::now();
        let live = fresh_schema();
        // Made long ago but still well inside the limit: a long test session.
        let old_but_live = schema_made_at(now - MAX_TEST_AGE + Duration::from_secs(600));
        let expired = schema_made_at(now - MAX_TEST_AGE - Duration::from_secs(60));
        // Not made by this rule (another tool, or an older one): not ours to judge.
        let foreign = format!("parallax_test_{}", uuid::Uuid::new_v4().simple());
        // The old pid-based names, still made by branches running the old rule.
        let legacy = format!("px_test_1_{}", uuid::Uuid::new_v4().simple());
        for schema in [&live, &old_but_live, &expired, &foreign, &legacy] {
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA {schema}; CREATE TABLE {schema}.t (x int)"
                ))
                .await
                .unwrap();
        }

        // This process's background cleanup may be running too: either may drop `expired`.
        let dropped = drop_expired_schemas(&client, SystemTime::now())
            .await
            .unwrap();

        for kept in [&live, &old_but_live, &foreign, &legacy] {
            assert!(!dropped.contains(kept), "{kept} dropped");
        }
        let exists = |schema: String| {
            let client = &client;
            async move {
                client
                    .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
                    .await
                    .unwrap()
                    .is_some()
            }
        };
        assert!(!exists(expired).await);
        assert!(exists(live.clone()).await);
        assert!(exists(old_but_live.clone()).await);
        assert!(exists(foreign.clone()).await);
        assert!(exists(legacy.clone()).await);
        for schema in [live, old_but_live, foreign, legacy] {
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
        }
    }
}
