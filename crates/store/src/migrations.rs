//! The schema, written once for both backends: versioned migrations, applied in order, each
//! once, recorded in `schema_migrations`.
//!
//! The two dialects agree on everything the schema needs but four spellings, which a
//! [`Dialect`] fills in: the 64-bit integer type, the byte-string type, the boolean type, and
//! SQLite's `WITHOUT ROWID` for the event log (its primary key is the table). Each backend
//! runs [`pending`] inside its own migration transaction.
//!
//! A few objects exist on one backend only (PostgreSQL's full-text index of pages, version
//! 11: with SQLite, pages stay in the embedded tantivy index). A dialect carries them in
//! [`Dialect::only`], by version: they run right after that version's shared statements, in
//! the same transaction, so a version number still names one point of the schema's history
//! on both backends (on SQLite, version 11 adds nothing).

use crate::{Result, StoreError};

/// How one backend spells the types the schema uses.
pub(crate) struct Dialect {
    /// A 64-bit integer column (microseconds, counts, positions).
    pub int: &'static str,
    /// A byte-string column (key hashes).
    pub bytes: &'static str,
    /// A boolean column.
    pub flag: &'static str,
    /// What follows a table whose primary key should be its storage order.
    pub clustered: &'static str,
    /// Statements of this backend only, by version (each version at most once).
    pub only: &'static [(i64, &'static str)],
}

/// SQLite's spellings.
pub(crate) const SQLITE: Dialect = Dialect {
    int: "INTEGER",
    bytes: "BLOB",
    flag: "INTEGER",
    clustered: " WITHOUT ROWID",
    only: &[],
};

/// PostgreSQL's spellings.
pub(crate) const POSTGRES: Dialect = Dialect {
    int: "BIGINT",
    bytes: "BYTEA",
    flag: "BOOLEAN",
    clustered: "",
    only: POSTGRES_ONLY,
};

/// PostgreSQL's own objects (see the module documentation).
const POSTGRES_ONLY: &[(i64, &str)] = &[(
    11,
    // Pages read for tenants and shared pages (`parallax index add`), for every node
    // (crate::pages). `owner` is the tenant id, or '*' for a shared page (tenant ids never
    // equal it). `search` weighs the title (A) above the body (B) with the `english`
    // configuration (stemming, stop words); only the first 500,000 characters of a body
    // are indexed, as a tsvector holds at most 1 MB. `fetched_at` is microseconds.
    r#"
CREATE TABLE pages (
    owner      TEXT NOT NULL,
    url        TEXT NOT NULL,
    title      TEXT,
    body       TEXT NOT NULL,
    published  DATE,
    fetched_at BIGINT NOT NULL,
    search     tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, left(body, 500000)), 'B')
    ) STORED,
    PRIMARY KEY (owner, url)
);
CREATE INDEX pages_search ON pages USING GIN (search);
"#,
)];

/// The migrations, by version, with `{INT}`, `{BYTES}`, `{FLAG}` and `{CLUSTERED}` for the
/// dialect's spellings.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE tenants (
    tenant_id  TEXT PRIMARY KEY,
    created_at {INT} NOT NULL
);
CREATE TABLE api_keys (
    key_hash   {BYTES} PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(tenant_id),
    label      TEXT NOT NULL,
    created_at {INT} NOT NULL
);
CREATE TABLE runs (
    run_id                  TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants(tenant_id),
    processor               TEXT NOT NULL,
    status                  TEXT NOT NULL,
    metadata                TEXT,
    input_doc               TEXT NOT NULL,
    enable_events           {FLAG} NOT NULL,
    previous_interaction_id TEXT,
    output                  TEXT,
    error                   TEXT,
    warnings                TEXT,
    taskgroup_id            TEXT,
    created_at              {INT} NOT NULL,
    modified_at             {INT} NOT NULL,
    lease_owner             TEXT,
    lease_expires_at        {INT},
    attempts                {INT} NOT NULL DEFAULT 0
);
CREATE INDEX runs_queued ON runs (created_at) WHERE status = 'queued';
CREATE INDEX runs_leased ON runs (lease_expires_at) WHERE status = 'running';
CREATE TABLE run_events (
    run_id     TEXT NOT NULL REFERENCES runs(run_id),
    seq        {INT} NOT NULL,
    data       TEXT NOT NULL,
    created_at {INT} NOT NULL,
    PRIMARY KEY (run_id, seq)
){CLUSTERED};
CREATE TABLE idempotency_keys (
    tenant_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    body_hash  {BYTES} NOT NULL,
    run_id     TEXT NOT NULL,
    response   TEXT NOT NULL,
    created_at {INT} NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
"#,
    ),
    (
        2,
        // Fair claiming reads each tenant's oldest queued runs.
        "CREATE INDEX runs_queued_by_tenant ON runs (tenant_id, created_at) WHERE status = 'queued';",
    ),
    (
        3,
        // Webhooks: each tenant's signing secret, each run's webhook URL, and the outbox of
        // deliveries, written in the same transaction as the run's terminal state.
        r#"
ALTER TABLE tenants ADD COLUMN webhook_secret TEXT;
ALTER TABLE runs ADD COLUMN webhook_url TEXT;
CREATE TABLE webhook_deliveries (
    delivery_id      TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(tenant_id),
    run_id           TEXT NOT NULL,
    url              TEXT NOT NULL,
    body             TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         {INT} NOT NULL DEFAULT 0,
    next_attempt_at  {INT} NOT NULL,
    lease_owner      TEXT,
    lease_expires_at {INT},
    last_error       TEXT,
    created_at       {INT} NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
"#,
    ),
    (
        4,
        // Task groups, their event log, each run's position in its group, and the queue
        // indexes fair claiming reads per lane. Written with BIGINT on both backends from the
        // start (SQLite gives BIGINT the same integer affinity as INTEGER).
        r#"
CREATE TABLE task_groups (
    taskgroup_id      TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(tenant_id),
    metadata          TEXT,
    created_at        BIGINT NOT NULL,
    modified_at       BIGINT NOT NULL,
    event_seq         BIGINT NOT NULL DEFAULT 0,
    run_seq           BIGINT NOT NULL DEFAULT 0,
    n_pending         BIGINT NOT NULL DEFAULT 0,
    n_completed       BIGINT NOT NULL DEFAULT 0,
    n_failed          BIGINT NOT NULL DEFAULT 0,
    n_cancelled       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX task_groups_pending ON task_groups (tenant_id) WHERE n_pending > 0;
CREATE TABLE group_events (
    taskgroup_id TEXT NOT NULL REFERENCES task_groups(taskgroup_id),
    seq          BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (taskgroup_id, seq)
);
ALTER TABLE runs ADD COLUMN group_pos BIGINT;
CREATE UNIQUE INDEX runs_by_group ON runs (taskgroup_id, group_pos) WHERE taskgroup_id IS NOT NULL;
DROP INDEX runs_queued_by_tenant;
CREATE INDEX runs_queued_solo ON runs (tenant_id, created_at)
    WHERE status = 'queued' AND taskgroup_id IS NULL;
CREATE INDEX runs_queued_by_group ON runs (taskgroup_id, group_pos)
    WHERE status = 'queued' AND taskgroup_id IS NOT NULL;
CREATE INDEX runs_running_by_group ON runs (taskgroup_id)
    WHERE status = 'running' AND taskgroup_id IS NOT NULL;
"#,
    ),
    (
        5,
        // FindAll: runs (claimed with a lease like task runs), their candidates (one per
        // normalised name, in the order generated) and their event logs.
        r#"
CREATE TABLE findall_runs (
    findall_id         TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(tenant_id),
    status             TEXT NOT NULL,
    generator          TEXT NOT NULL,
    schema_doc         TEXT NOT NULL,
    exclude_doc        TEXT,
    metadata           TEXT,
    match_limit        BIGINT NOT NULL,
    termination_reason TEXT,
    n_generated        BIGINT NOT NULL DEFAULT 0,
    n_matched          BIGINT NOT NULL DEFAULT 0,
    generation_done    BIGINT NOT NULL DEFAULT 0,
    webhook_url        TEXT,
    webhook_events     TEXT,
    event_seq          BIGINT NOT NULL DEFAULT 0,
    candidate_seq      BIGINT NOT NULL DEFAULT 0,
    lease_owner        TEXT,
    lease_expires_at   BIGINT,
    attempts           BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    modified_at        BIGINT NOT NULL
);
CREATE INDEX findall_runs_queued ON findall_runs (created_at) WHERE status = 'queued';
CREATE INDEX findall_runs_running ON findall_runs (tenant_id) WHERE status = 'running';
CREATE TABLE findall_candidates (
    findall_id   TEXT NOT NULL REFERENCES findall_runs(findall_id),
    position     BIGINT NOT NULL,
    candidate_id TEXT NOT NULL,
    dedup_key    TEXT NOT NULL,
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    description  TEXT,
    match_status TEXT NOT NULL,
    output       TEXT,
    basis        TEXT,
    enriched     BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    modified_at  BIGINT NOT NULL,
    PRIMARY KEY (findall_id, position)
);
CREATE UNIQUE INDEX findall_candidates_by_key ON findall_candidates (findall_id, dedup_key);
CREATE UNIQUE INDEX findall_candidates_by_id ON findall_candidates (findall_id, candidate_id);
CREATE TABLE findall_events (
    findall_id TEXT NOT NULL REFERENCES findall_runs(findall_id),
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (findall_id, seq)
);
"#,
    ),
    (
        6,
        // Monitors: each with its schedule (due times on the monitor clock, leases on the
        // store's), its event log and the keys of what its executions saw. The partial
        // indexes are what keep an idle scheduler's cost flat however many monitors there
        // are: the next due, the triggered and the orphaned are each one index walk away.
        r#"
CREATE TABLE monitors (
    monitor_id       TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(tenant_id),
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    config           TEXT NOT NULL,
    task_request     TEXT,
    baseline         TEXT,
    latest_snapshot  TEXT,
    created_at       BIGINT NOT NULL,
    last_run_at      BIGINT,
    anchor_at        BIGINT NOT NULL,
    period_secs      BIGINT NOT NULL,
    next_due_at      BIGINT NOT NULL,
    trigger_pending  BIGINT NOT NULL DEFAULT 0,
    executions       BIGINT NOT NULL DEFAULT 0,
    attempts         BIGINT NOT NULL DEFAULT 0,
    event_seq        BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    modified_at      BIGINT NOT NULL
);
CREATE INDEX monitors_due ON monitors (next_due_at) WHERE status = 'active' AND lease_owner IS NULL;
CREATE INDEX monitors_triggered ON monitors (monitor_id) WHERE trigger_pending = 1;
CREATE INDEX monitors_leased ON monitors (lease_expires_at) WHERE lease_owner IS NOT NULL;
CREATE INDEX monitors_by_tenant ON monitors (tenant_id, created_at, monitor_id);
CREATE TABLE monitor_events (
    monitor_id     TEXT NOT NULL REFERENCES monitors(monitor_id),
    seq            BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    event_group_id TEXT,
    data           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (monitor_id, seq)
);
CREATE INDEX monitor_events_by_group ON monitor_events (monitor_id, event_group_id);
CREATE TABLE monitor_seen (
    monitor_id   TEXT NOT NULL REFERENCES monitors(monitor_id),
    seen_key     TEXT NOT NULL,
    data         TEXT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (monitor_id, seen_key)
);
"#,
    ),
    (
        7,
        r#"
CREATE TABLE memory_entries (
    tenant_id     TEXT NOT NULL REFERENCES tenants(tenant_id),
    scope_key     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    input_text    TEXT NOT NULL,
    output_text   TEXT NOT NULL,
    sources       TEXT NOT NULL,
    status        TEXT,
    matched_count {INT},
    updated_at    {INT} NOT NULL,
    evicted_at    {INT},
    PRIMARY KEY (tenant_id, scope_key, kind, source_id)
);
CREATE INDEX memory_live ON memory_entries (tenant_id, scope_key, updated_at) WHERE evicted_at IS NULL;
CREATE INDEX memory_by_source ON memory_entries (source_id);
"#,
    ),
    (
        8,
        // The `parallel-beta` values a run was created with (comma-separated, as parsed), or
        // NULL: what the run may use (MCP servers) and how its result is shown. Kept apart
        // from `input_doc`, which is what the client sent in the body and nothing else.
        r#"
ALTER TABLE runs ADD COLUMN betas TEXT;
"#,
    ),
    (
        9,
        // Per-tenant limits set with `parallax keys limit` (crate::limits); NULL is none.
        // The index holds only active (queued and running) runs: a tenant's active runs
        // (its quota) are counted from its prefix, and the metrics scrape counts them all by
        // state and processor from the whole of it, neither reading ended runs (an
        // index-only scan on PostgreSQL, a covering index on SQLite).
        r#"
ALTER TABLE tenants ADD COLUMN requests_per_minute {INT};
ALTER TABLE tenants ADD COLUMN max_active_runs {INT};
CREATE INDEX runs_active ON runs (tenant_id, status, processor)
    WHERE status IN ('queued', 'running');
"#,
    ),
    (
        10,
        // A tenant's runs newest first, a page at a time (`Store::list_runs`, the dashboard's
        // runs list): the index is the listing order, so a page reads only its own rows.
        r#"
CREATE INDEX runs_by_tenant ON runs (tenant_id, created_at, run_id);
"#,
    ),
    (
        11,
        // The shared index of pages: PostgreSQL only (`POSTGRES_ONLY`); SQLite keeps pages
        // in the data directory's tantivy index.
        "-- nothing on SQLite\n",
    ),
];

/// The migrations a database at schema version `current` still needs, in order, in
/// `dialect`. A database newer than this binary is refused: it may hold what this binary
/// would misread.
pub(crate) fn pending(dialect: &Dialect, current: i64) -> Result<Vec<(i64, String)>> {
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(StoreError::Migration(format!(
            "the database is at schema version {current}, newer than this binary knows ({newest}); run a newer parallax"
        )));
    }
    Ok(MIGRATIONS
        .iter()
        .filter(|(version, _)| *version > current)
        .map(|(version, sql)| {
            let sql = sql
                .replace("{INT}", dialect.int)
                .replace("{BYTES}", dialect.bytes)
                .replace("{FLAG}", dialect.flag)
                .replace("{CLUSTERED}", dialect.clustered);
            let only = dialect
                .only
                .iter()
                .filter(|(v, _)| v == version)
                .map(|(_, only)| *only);
            (
                *version,
                std::iter::once(sql.as_str()).chain(only).collect(),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_in_both_dialects() {
        for dialect in [&SQLITE, &POSTGRES] {
            let all = pending(dialect, 0).unwrap();
            assert_eq!(
                all.iter().map(|m| m.0).collect::<Vec<_>>(),
                vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
            );
            assert!(all.iter().all(|(_, sql)| !sql.contains('{')));
        }
        let sqlite = &pending(&SQLITE, 0).unwrap()[0].1;
        assert!(sqlite.contains("key_hash   BLOB PRIMARY KEY"));
        assert!(sqlite.contains(") WITHOUT ROWID;"));
        let postgres = &pending(&POSTGRES, 0).unwrap()[0].1;
        assert!(postgres.contains("enable_events           BOOLEAN NOT NULL"));
        assert!(postgres.contains("PRIMARY KEY (run_id, seq)\n);"));
        // The page index is PostgreSQL's alone.
        let eleventh = |d| pending(d, 10).unwrap().remove(0).1;
        assert!(eleventh(&POSTGRES).contains("CREATE INDEX pages_search ON pages USING GIN"));
        assert!(!eleventh(&SQLITE).contains("pages"));
        assert!(POSTGRES
            .only
            .iter()
            .all(|(v, _)| MIGRATIONS.iter().any(|(m, _)| m == v)));
    }

    #[test]
    fn only_what_is_missing_and_never_a_downgrade() {
        assert_eq!(pending(&SQLITE, 4).unwrap().len(), 7);
        assert!(pending(&POSTGRES, 11).unwrap().is_empty());
        let err = pending(&SQLITE, 12).unwrap_err().to_string();
        assert!(err.contains("newer than this binary"), "{err}");
    }
}
