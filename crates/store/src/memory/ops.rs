//! The memory operations and the writes that record entries, written once for both backends
//! (see the module documentation of [`crate::memory`]).

use super::{Executed, MemoryEntry, MemoryOp, MemoryQuery, MemoryReply, EVENTS_PER_MONITOR};
use crate::monitor::EventQuery;
use crate::sql::{Cell, Row, Tx};
use crate::{Result, StoreError};
use parallax_api::memory::{MemoryKind, PERSONAL};
use parallax_api::monitor::EventKind;
use serde_json::Value;

pub(crate) async fn execute<T: Tx>(tx: &mut T, op: MemoryOp, now: i64) -> Executed {
    let reply = match op {
        MemoryOp::Retrieve {
            tenant,
            scope,
            query,
        } => MemoryReply::Entries(retrieve(tx, &tenant, &scope, &query).await?),
        MemoryOp::Evict {
            tenant,
            scope,
            kind,
            id,
        } => {
            let n = tx
                .exec(
                    &format!("{EVICT} AND kind = $4 AND source_id = $5"),
                    &[
                        tenant.into(),
                        stored(&scope).into(),
                        now.into(),
                        kind.as_str().into(),
                        stored(&id).into(),
                    ],
                )
                .await?;
            MemoryReply::Evicted(n > 0)
        }
        MemoryOp::Clear { tenant, scope } => {
            let n = tx
                .exec(EVICT, &[tenant.into(), stored(&scope).into(), now.into()])
                .await?;
            MemoryReply::Cleared(n)
        }
    };
    Ok((reply, Vec::new()))
}

/// Turns the live entries of a scope into tombstones: texts emptied, `evicted_at` set ($3).
/// Evict appends what selects one entry beyond the tenant ($1) and scope ($2).
const EVICT: &str = "UPDATE memory_entries SET evicted_at = $3, input_text = '', output_text = '',
        sources = '[]', status = NULL, matched_count = NULL
     WHERE tenant_id = $1 AND scope_key = $2 AND evicted_at IS NULL";

fn entry_of(row: &Row) -> Result<MemoryEntry> {
    let kind_text = row.text(0)?;
    let kind = MemoryKind::parse(&kind_text)
        .ok_or_else(|| StoreError::Corrupt(format!("memory kind {kind_text:?}")))?;
    let sources: Vec<String> = serde_json::from_str(&row.text(4)?)
        .map_err(|e| StoreError::Corrupt(format!("memory sources: {e}")))?;
    Ok(MemoryEntry {
        kind,
        id: row.text(1)?,
        input: row.text(2)?,
        output: row.text(3)?,
        sources,
        status: row.opt_text(5)?,
        matched_count: row.opt_int(6)?,
        updated_at: row.int(7)?,
        events: Vec::new(),
    })
}

async fn retrieve<T: Tx>(
    tx: &mut T,
    tenant: &str,
    scope: &str,
    query: &MemoryQuery,
) -> Result<Vec<MemoryEntry>> {
    let mut params: Vec<Cell> = vec![tenant.into(), stored(scope).into()];
    let mut sql = String::from(
        "SELECT kind, source_id, input_text, output_text, sources, status, matched_count,
            updated_at
         FROM memory_entries WHERE tenant_id = $1 AND scope_key = $2 AND evicted_at IS NULL",
    );
    if let Some(kind) = query.kind {
        params.push(kind.as_str().into());
        sql.push_str(&format!(" AND kind = ${}", params.len()));
    }
    if let Some(since) = query.since {
        params.push(since.into());
        sql.push_str(&format!(" AND updated_at >= ${}", params.len()));
    }
    params.push(query.limit.into());
    sql.push_str(&format!(
        " ORDER BY updated_at DESC, source_id LIMIT ${}",
        params.len()
    ));
    let rows = tx.rows(&sql, &params).await?;
    let mut entries = rows.iter().map(entry_of).collect::<Result<Vec<_>>>()?;
    for entry in entries.iter_mut().filter(|e| e.kind == MemoryKind::Monitor) {
        let query = EventQuery {
            limit: Some(EVENTS_PER_MONITOR),
            ..EventQuery::default()
        };
        entry.events = crate::monitor::ops::events(tx, &entry.id, &query)
            .await?
            .into_iter()
            .filter(|e| matches!(e.kind, EventKind::EventStream | EventKind::Snapshot))
            .collect();
    }
    Ok(entries)
}

/// An entry to record (or to bring up to date, unless it was evicted).
pub(crate) struct Record<'a> {
    pub tenant: &'a str,
    /// `None`: the personal scope.
    pub scope: Option<&'a str>,
    pub kind: MemoryKind,
    pub id: &'a str,
    pub input: &'a str,
    pub output: &'a str,
    pub sources: &'a [String],
    pub status: Option<&'a str>,
    pub matched_count: Option<i64>,
    pub updated_at: i64,
}

/// `text` as both backends keep it: PostgreSQL's text cannot hold NUL, so NUL becomes U+FFFD,
/// in what is written and in what is looked up alike (a scope key with one still names one
/// scope, the same on both backends).
pub(crate) fn stored(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

/// Bytes of an entry's input or output text kept: plenty for excerpts and for ranking against
/// a query, without a second copy of every long output in the store.
pub(crate) const TEXT_KEPT: usize = 8 * 1024;

/// `text` cut to at most [`TEXT_KEPT`] bytes, at a character boundary.
fn kept(text: &str) -> &str {
    if text.len() <= TEXT_KEPT {
        return text;
    }
    let mut end = TEXT_KEPT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Records an entry in its scope; an entry already there is updated, a tombstone is left
/// as it is. Texts are kept up to [`TEXT_KEPT`] bytes.
pub(crate) async fn record<T: Tx>(tx: &mut T, r: Record<'_>) -> Result<()> {
    let sources = serde_json::to_string(r.sources).expect("strings always serialise");
    tx.exec(
        "INSERT INTO memory_entries (tenant_id, scope_key, kind, source_id, input_text,
            output_text, sources, status, matched_count, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (tenant_id, scope_key, kind, source_id) DO UPDATE SET
            input_text = excluded.input_text, output_text = excluded.output_text,
            sources = excluded.sources, status = excluded.status,
            matched_count = excluded.matched_count, updated_at = excluded.updated_at
         WHERE memory_entries.evicted_at IS NULL",
        &[
            r.tenant.into(),
            stored(r.scope.unwrap_or(PERSONAL)).into(),
            r.kind.as_str().into(),
            r.id.into(),
            stored(kept(r.input)).into(),
            stored(kept(r.output)).into(),
            sources.into(),
            Cell::from(r.status.map(str::to_owned)),
            Cell::from(r.matched_count),
            r.updated_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A value as memory's text: a string as it is, anything else as JSON.
fn as_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The URLs a task-run output's basis cites, in order, once each.
pub(crate) fn cited_urls(output: &Value) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    let basis = output.get("basis").and_then(Value::as_array);
    for field in basis.into_iter().flatten() {
        let citations = field.get("citations").and_then(Value::as_array);
        for citation in citations.into_iter().flatten() {
            if let Some(url) = citation.get("url").and_then(Value::as_str) {
                if !urls.iter().any(|u| u == url) {
                    urls.push(url.to_owned());
                }
            }
        }
    }
    urls
}

/// Records a task run that completed with `output`, in the scope its request named
/// (`input_doc` is the request as sent, which keeps `memory_scope_key`). Runs whose stored
/// documents do not read as JSON are not remembered, rather than failing their ending.
pub(crate) async fn record_task<T: Tx>(
    tx: &mut T,
    tenant: &str,
    run_id: &str,
    input_doc: &str,
    output: &str,
    now: i64,
) -> Result<()> {
    let (Ok(request), Ok(output)) = (
        serde_json::from_str::<Value>(input_doc),
        serde_json::from_str::<Value>(output),
    ) else {
        tracing::warn!(
            run_id,
            "a completed run's documents are not JSON: not remembered"
        );
        return Ok(());
    };
    let scope = request.get("memory_scope_key").and_then(Value::as_str);
    record(
        tx,
        Record {
            tenant,
            scope,
            kind: MemoryKind::Task,
            id: run_id,
            input: &as_text(request.get("input")),
            output: &as_text(output.get("content")),
            sources: &cited_urls(&output),
            status: None,
            matched_count: None,
            updated_at: now,
        },
    )
    .await
}

/// Brings a monitor's entry up to date, unless evicted: its status, its query, when it last
/// ran (each only when given).
pub(crate) async fn monitor_changed<T: Tx>(
    tx: &mut T,
    monitor_id: &str,
    status: Option<&str>,
    query: Option<&str>,
    ran_at: Option<i64>,
) -> Result<()> {
    tx.exec(
        "UPDATE memory_entries SET status = COALESCE($2, status),
            input_text = COALESCE($3, input_text), updated_at = COALESCE($4, updated_at)
         WHERE kind = 'monitor' AND source_id = $1 AND evicted_at IS NULL",
        &[
            monitor_id.into(),
            Cell::from(status.map(str::to_owned)),
            Cell::from(query.map(stored)),
            Cell::from(ran_at),
        ],
    )
    .await?;
    Ok(())
}

/// Counts one more match on a FindAll run's entry, unless evicted.
pub(crate) async fn findall_matched<T: Tx>(tx: &mut T, findall_id: &str, now: i64) -> Result<()> {
    tx.exec(
        "UPDATE memory_entries SET matched_count = matched_count + 1, updated_at = $2
         WHERE kind = 'findall' AND source_id = $1 AND evicted_at IS NULL",
        &[findall_id.into(), now.into()],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_texts_are_cut_at_a_character_boundary() {
        let long = "é".repeat(super::TEXT_KEPT);
        let cut = super::kept(&long);
        assert!(cut.len() <= super::TEXT_KEPT && cut.len() >= super::TEXT_KEPT - 1);
        assert!(long.starts_with(cut));
        assert_eq!(super::kept("short"), "short");
    }

    use serde_json::json;

    #[test]
    fn cited_urls_are_in_order_once_each() {
        let output = json!({"type": "json", "content": {}, "basis": [
            {"field": "a", "citations": [{"url": "https://a"}, {"url": "https://b"}]},
            {"field": "b", "citations": [{"url": "https://a"}, {"title": "no url"}]},
            {"field": "c"}
        ]});
        assert_eq!(super::cited_urls(&output), vec!["https://a", "https://b"]);
        assert!(super::cited_urls(&json!({})).is_empty());
    }
}
