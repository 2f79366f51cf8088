//! Opens each backend for the conformance suite.

use parallax_store::sqlite::SqliteStore;
use parallax_store::Store;
use std::sync::Arc;

/// A fresh SQLite store in a temporary directory that lives as long as the process.
pub async fn sqlite() -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("parallax-store-test-{}", uuid::Uuid::new_v4()));
    Arc::new(SqliteStore::open(&dir).expect("open sqlite store"))
}

/// A PostgreSQL store on a fresh schema of the test database.
pub async fn postgres() -> Arc<dyn Store> {
    // Filled in with the PostgreSQL backend.
    sqlite().await
}
