//! The monitor operations, written once over [`Tx`] (see the module documentation of
//! [`super`] for the schedule, the two clocks and the leases).

use super::{
    ClaimedMonitor, EventQuery, Executed, Execution, MonitorListQuery, MonitorOp, MonitorReply,
    MonitorToCreate, Requested, SnapshotBaseline, UpdateOutcome, SEEN_KEPT,
};
use crate::sql::{Cell, Row, Tx};
use crate::{Notice, Result, StoreError};
use parallax_api::monitor::{
    webhook_body, EventKind, MonitorConfig, MonitorEvent, MonitorKind, MonitorStatus, MonitorView,
    EVENT_DETECTED, EVENT_GROUP_PREFIX, EVENT_PREFIX, EXECUTION_COMPLETED, EXECUTION_FAILED,
};
use parallax_api::{ids, webhook};
use serde_json::{json, Value};

const SECOND: i64 = 1_000_000;
/// The longest jitter added to a due time: spread enough that monitors created together do
/// not all fall due in the same instant, small enough to keep "hourly" hourly.
const JITTER_MAX: i64 = 60 * SECOND;

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown monitor {what} {value:?}"))
}

/// The jitter of one slot of one monitor: fixed (the same on every node and every
/// computation), at most a sixtieth of the period and at most [`JITTER_MAX`].
fn jitter(monitor_id: &str, slot: i64, period: i64) -> i64 {
    let bound = (period / 60).clamp(1, JITTER_MAX);
    // FNV-1a: stable across processes and versions, unlike the standard library's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in monitor_id.bytes().chain(slot.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % bound as u64) as i64
}

/// The due time of the first slot after `clock`: `anchor + k × period + jitter(k)`, the
/// smallest `k ≥ 1` with `anchor + k × period > clock`.
pub(crate) fn next_due(monitor_id: &str, anchor: i64, period: i64, clock: i64) -> i64 {
    let period = period.max(SECOND);
    let k = if clock < anchor {
        1
    } else {
        (clock - anchor) / period + 1
    };
    anchor + k * period + jitter(monitor_id, k, period)
}

const MONITOR_COLUMNS: &str =
    "monitor_id, status, config, created_at, last_run_at, latest_snapshot";

fn view_of(row: &Row) -> Result<MonitorView> {
    let status_text = row.text(1)?;
    let config = MonitorConfig::from_json(&row.text(2)?)
        .map_err(|e| StoreError::Corrupt(format!("monitor config: {e}")))?;
    Ok(MonitorView {
        monitor_id: row.text(0)?,
        status: MonitorStatus::parse(&status_text)
            .ok_or_else(|| corrupt("status", &status_text))?,
        config,
        created_at: row.int(3)?,
        last_run_at: row.opt_int(4)?,
        latest_snapshot: row.opt_text(5)?.map(|t| json_of(&t)).transpose()?,
    })
}

fn json_of(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("monitor document: {e}")))
}

async fn load<T: Tx>(
    tx: &mut T,
    monitor_id: &str,
    tenant: &str,
    lock: bool,
) -> Result<Option<MonitorView>> {
    let sql = format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE monitor_id = $1 AND tenant_id = $2{}",
        if lock { tx.lock_rows() } else { "" }
    );
    let rows = tx.rows(&sql, &[monitor_id.into(), tenant.into()]).await?;
    rows.first().map(view_of).transpose()
}

pub(crate) async fn execute<T: Tx>(tx: &mut T, op: MonitorOp, now: i64) -> Executed {
    match op {
        MonitorOp::Create { tenant, monitor } => create(tx, &tenant, *monitor, now).await,
        MonitorOp::Get { tenant, monitor_id } => Ok((
            MonitorReply::View(load(tx, &monitor_id, &tenant, false).await?),
            Vec::new(),
        )),
        MonitorOp::List { tenant, query } => Ok((
            MonitorReply::List(list(tx, &tenant, &query).await?),
            Vec::new(),
        )),
        MonitorOp::ListById {
            tenant,
            after,
            limit,
        } => {
            let sql = format!(
                "SELECT {MONITOR_COLUMNS} FROM monitors WHERE tenant_id = $1 AND monitor_id > $2
                 ORDER BY monitor_id LIMIT $3"
            );
            let rows = tx
                .rows(
                    &sql,
                    &[
                        tenant.into(),
                        after.unwrap_or_default().into(),
                        limit.unwrap_or(i64::MAX).into(),
                    ],
                )
                .await?;
            let views = rows.iter().map(view_of).collect::<Result<Vec<_>>>()?;
            Ok((MonitorReply::List(views), Vec::new()))
        }
        MonitorOp::Update {
            tenant,
            monitor_id,
            patch,
            clock,
        } => {
            let Some(view) = load(tx, &monitor_id, &tenant, true).await? else {
                return Ok((MonitorReply::Updated(UpdateOutcome::NotFound), Vec::new()));
            };
            if view.status == MonitorStatus::Cancelled && patch.touches_more_than_metadata() {
                return Ok((MonitorReply::Updated(UpdateOutcome::Cancelled), Vec::new()));
            }
            if view.config.kind == MonitorKind::Snapshot && patch.touches_settings() {
                return Ok((MonitorReply::Updated(UpdateOutcome::NoSettings), Vec::new()));
            }
            let config = patch.apply(&view.config);
            let mut notices = Vec::new();
            if config.period_secs != view.config.period_secs {
                // Planned again from the same anchor with the new period. An execution that
                // is due already (the first, or one not claimed yet) stays due: its claim
                // plans the next slot with the new period.
                let rows = tx
                    .rows(
                        "SELECT anchor_at, next_due_at FROM monitors WHERE monitor_id = $1",
                        &[monitor_id.as_str().into()],
                    )
                    .await?;
                let (anchor, due) = match rows.first() {
                    Some(r) => (r.int(0)?, r.int(1)?),
                    None => (clock, i64::MAX),
                };
                let period = config.period_secs * SECOND;
                let next = if due <= clock {
                    due
                } else {
                    next_due(&monitor_id, anchor, period, clock)
                };
                tx.exec(
                    "UPDATE monitors SET period_secs = $2, next_due_at = $3 WHERE monitor_id = $1",
                    &[
                        monitor_id.as_str().into(),
                        config.period_secs.into(),
                        next.into(),
                    ],
                )
                .await?;
                notices.push(Notice::Schedule);
            }
            tx.exec(
                "UPDATE monitors SET config = $2, modified_at = $3 WHERE monitor_id = $1",
                &[
                    monitor_id.as_str().into(),
                    config.to_json().into(),
                    now.into(),
                ],
            )
            .await?;
            if config.query() != view.config.query() {
                crate::memory::ops::monitor_changed(
                    tx,
                    &monitor_id,
                    None,
                    Some(config.query()),
                    None,
                )
                .await?;
            }
            let view = MonitorView { config, ..view };
            Ok((
                MonitorReply::Updated(UpdateOutcome::Updated(Box::new(view))),
                notices,
            ))
        }
        MonitorOp::Cancel { tenant, monitor_id } => {
            let Some(view) = load(tx, &monitor_id, &tenant, true).await? else {
                return Ok((MonitorReply::View(None), Vec::new()));
            };
            tx.exec(
                "UPDATE monitors SET status = 'cancelled', trigger_pending = 0, modified_at = $2
                 WHERE monitor_id = $1",
                &[monitor_id.as_str().into(), now.into()],
            )
            .await?;
            crate::memory::ops::monitor_changed(
                tx,
                &monitor_id,
                Some(MonitorStatus::Cancelled.as_str()),
                None,
                None,
            )
            .await?;
            let view = MonitorView {
                status: MonitorStatus::Cancelled,
                ..view
            };
            Ok((MonitorReply::View(Some(view)), Vec::new()))
        }
        MonitorOp::Trigger { tenant, monitor_id } => {
            let Some(view) = load(tx, &monitor_id, &tenant, true).await? else {
                return Ok((MonitorReply::Requested(Requested::NotFound), Vec::new()));
            };
            if view.status == MonitorStatus::Cancelled {
                return Ok((MonitorReply::Requested(Requested::Cancelled), Vec::new()));
            }
            tx.exec(
                "UPDATE monitors SET trigger_pending = 1 WHERE monitor_id = $1",
                &[monitor_id.as_str().into()],
            )
            .await?;
            Ok((
                MonitorReply::Requested(Requested::Done),
                vec![Notice::Schedule],
            ))
        }
        MonitorOp::Events {
            tenant,
            monitor_id,
            query,
        } => {
            // Only whether it is the tenant's: a monitor whose settings cannot be read still
            // shows its events (among them the error saying so).
            let found = tx
                .rows(
                    "SELECT 1 FROM monitors WHERE monitor_id = $1 AND tenant_id = $2",
                    &[monitor_id.as_str().into(), tenant.as_str().into()],
                )
                .await?;
            if found.is_empty() {
                return Ok((MonitorReply::Events(None), Vec::new()));
            }
            let events = events(tx, &monitor_id, &query).await?;
            Ok((MonitorReply::Events(Some(events)), Vec::new()))
        }
        MonitorOp::Simulate {
            tenant,
            monitor_id,
            event_type,
            clock,
        } => {
            let Some(view) = load(tx, &monitor_id, &tenant, false).await? else {
                return Ok((MonitorReply::Requested(Requested::NotFound), Vec::new()));
            };
            let Some(hook) = &view.config.webhook else {
                return Ok((MonitorReply::Requested(Requested::NoWebhook), Vec::new()));
            };
            let event = match event_type.as_str() {
                EVENT_DETECTED => {
                    // The group is recorded with one made-up event, so that the receiver can
                    // fetch what it was sent; listings leave it out.
                    let group = ids::new_id(&format!("{EVENT_GROUP_PREFIX}test_"));
                    let today = parallax_api::time::rfc3339(clock)[..10].to_owned();
                    let document = json!({
                        "event_date": today,
                        "output": {
                            "type": "text",
                            "content": "A simulated event: no execution detected it.",
                            "basis": [],
                        },
                        "source_urls": [],
                        "summary": "",
                    });
                    let rows = tx
                        .rows(
                            "UPDATE monitors SET event_seq = event_seq + 1 WHERE monitor_id = $1
                             RETURNING event_seq",
                            &[monitor_id.as_str().into()],
                        )
                        .await?;
                    let seq = rows
                        .first()
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("monitor {monitor_id} vanished"))
                        })?
                        .int(0)?;
                    insert_event(
                        tx,
                        &monitor_id,
                        seq,
                        EventKind::Simulated,
                        Some(group.clone()),
                        &document,
                        clock,
                    )
                    .await?;
                    json!({"event_group_id": group})
                }
                EXECUTION_FAILED => json!({
                    "event_type": "error",
                    "error_message": "A simulated failure: no execution ran.",
                    "timestamp": parallax_api::time::rfc3339(clock),
                }),
                _ => json!({
                    "event_type": "completion",
                    "timestamp": parallax_api::time::rfc3339(clock),
                }),
            };
            let body = webhook_body(
                &event_type,
                &monitor_id,
                view.config.metadata.as_ref(),
                event,
                clock,
            );
            queue_delivery(tx, &tenant, &monitor_id, &hook.url, &body, now).await?;
            Ok((MonitorReply::Requested(Requested::Done), Vec::new()))
        }
        MonitorOp::NextDue => {
            // Only the triggered index's own condition in SQL: given more, SQLite's planner
            // may walk the due index instead, all of it (see `triggered`).
            let triggered = tx
                .rows(
                    "SELECT status, lease_owner FROM monitors WHERE trigger_pending = 1",
                    &[],
                )
                .await?;
            let waiting = triggered.iter().any(|r| {
                r.text(0).is_ok_and(|s| s == "active") && r.opt_text(1).is_ok_and(|l| l.is_none())
            });
            if waiting {
                return Ok((MonitorReply::NextDue(Some(i64::MIN)), Vec::new()));
            }
            let rows = tx
                .rows(
                    "SELECT next_due_at FROM monitors
                     WHERE status = 'active' AND lease_owner IS NULL
                     ORDER BY next_due_at LIMIT 1",
                    &[],
                )
                .await?;
            let due = rows.first().map(|r| r.int(0)).transpose()?;
            Ok((MonitorReply::NextDue(due), Vec::new()))
        }
        MonitorOp::Claim {
            worker,
            ttl,
            clock,
            limit,
        } => claim(tx, &worker, ttl.as_micros() as i64, clock, limit, now).await,
        MonitorOp::Heartbeat { worker, ttl, ids } => {
            let mut lost = Vec::new();
            for id in ids {
                let changed = tx
                    .exec(
                        "UPDATE monitors SET lease_expires_at = $3
                         WHERE monitor_id = $1 AND lease_owner = $2 AND status = 'active'",
                        &[
                            id.as_str().into(),
                            worker.as_str().into(),
                            (now + ttl.as_micros() as i64).into(),
                        ],
                    )
                    .await?;
                if changed == 0 {
                    lost.push(id);
                }
            }
            Ok((MonitorReply::Ids(lost), Vec::new()))
        }
        MonitorOp::Finish {
            worker,
            monitor_id,
            execution,
            clock,
        } => finish(tx, &worker, &monitor_id, *execution, clock, now).await,
        MonitorOp::Release { worker, ids } => {
            let mut released = Vec::new();
            for id in ids {
                let changed = tx
                    .exec(
                        "UPDATE monitors SET lease_owner = NULL, lease_expires_at = NULL,
                            trigger_pending = CASE WHEN status = 'active' THEN 1 ELSE 0 END
                         WHERE monitor_id = $1 AND lease_owner = $2",
                        &[id.as_str().into(), worker.as_str().into()],
                    )
                    .await?;
                if changed > 0 {
                    released.push(id);
                }
            }
            let notices = if released.is_empty() {
                Vec::new()
            } else {
                vec![Notice::Schedule]
            };
            Ok((MonitorReply::Ids(released), notices))
        }
    }
}

async fn create<T: Tx>(tx: &mut T, tenant: &str, monitor: MonitorToCreate, now: i64) -> Executed {
    let MonitorToCreate {
        monitor_id,
        config,
        created_at,
        snapshot,
    } = monitor;
    let (request, baseline) = match &snapshot {
        Some(s) => (Some(s.request.to_string()), Some(s.output.to_string())),
        None => (None, None),
    };
    tx.exec(
        "INSERT INTO monitors (monitor_id, tenant_id, kind, status, config, task_request,
            baseline, created_at, anchor_at, period_secs, next_due_at, modified_at)
         VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $7, $8, $7, $9)",
        &[
            monitor_id.as_str().into(),
            tenant.into(),
            config.kind.as_str().into(),
            config.to_json().into(),
            Cell::from(request),
            Cell::from(baseline),
            created_at.into(),
            config.period_secs.into(),
            now.into(),
        ],
    )
    .await?;
    crate::memory::ops::record(
        tx,
        crate::memory::ops::Record {
            tenant,
            scope: config.memory_scope_key.as_deref(),
            kind: parallax_api::memory::MemoryKind::Monitor,
            id: &monitor_id,
            input: config.query(),
            output: "",
            sources: &[],
            status: Some(MonitorStatus::Active.as_str()),
            matched_count: None,
            updated_at: created_at,
        },
    )
    .await?;
    let view = MonitorView {
        monitor_id,
        config,
        status: MonitorStatus::Active,
        created_at,
        last_run_at: None,
        latest_snapshot: None,
    };
    Ok((MonitorReply::Created(view), vec![Notice::Schedule]))
}

async fn list<T: Tx>(
    tx: &mut T,
    tenant: &str,
    query: &MonitorListQuery,
) -> Result<Vec<MonitorView>> {
    let mut params: Vec<Cell> = vec![tenant.into()];
    let placeholders = |values: Vec<String>, params: &mut Vec<Cell>| -> String {
        let mut out = Vec::new();
        for v in values {
            params.push(v.into());
            out.push(format!("${}", params.len()));
        }
        out.join(", ")
    };
    let statuses = placeholders(
        query
            .statuses
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        &mut params,
    );
    let mut sql = format!(
        "SELECT {MONITOR_COLUMNS} FROM monitors WHERE tenant_id = $1 AND status IN ({statuses})"
    );
    if !query.kinds.is_empty() {
        let kinds = placeholders(
            query.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
            &mut params,
        );
        sql.push_str(&format!(" AND kind IN ({kinds})"));
    }
    if let Some(after) = &query.after {
        params.push(after.as_str().into());
        let at = params.len();
        sql.push_str(&format!(
            " AND (created_at, monitor_id) < (SELECT created_at, monitor_id FROM monitors
                WHERE monitor_id = ${at} AND tenant_id = $1)"
        ));
    }
    params.push(query.limit.into());
    sql.push_str(&format!(
        " ORDER BY created_at DESC, monitor_id DESC LIMIT ${}",
        params.len()
    ));
    let rows = tx.rows(&sql, &params).await?;
    rows.iter().map(view_of).collect()
}

pub(crate) async fn events<T: Tx>(
    tx: &mut T,
    monitor_id: &str,
    query: &EventQuery,
) -> Result<Vec<MonitorEvent>> {
    let mut params: Vec<Cell> = vec![monitor_id.into()];
    let mut sql = String::from(
        "SELECT seq, kind, event_id, event_group_id, data, created_at FROM monitor_events
         WHERE monitor_id = $1",
    );
    if let Some(group) = &query.group {
        params.push(group.as_str().into());
        sql.push_str(&format!(" AND event_group_id = ${}", params.len()));
    } else if let Some(before) = query.before {
        params.push(before.into());
        sql.push_str(&format!(" AND seq < ${}", params.len()));
    }
    if !query.include_completions {
        sql.push_str(" AND kind <> 'completion'");
    }
    if query.group.is_none() {
        sql.push_str(" AND kind <> 'simulated'");
    }
    if let Some(since) = query.since {
        params.push(since.into());
        sql.push_str(&format!(" AND created_at >= ${}", params.len()));
    }
    sql.push_str(" ORDER BY seq DESC");
    if let (Some(limit), None) = (query.limit, &query.group) {
        params.push(limit.into());
        sql.push_str(&format!(" LIMIT ${}", params.len()));
    }
    let rows = tx.rows(&sql, &params).await?;
    rows.iter()
        .map(|r| {
            let kind_text = r.text(1)?;
            Ok(MonitorEvent {
                seq: r.int(0)?,
                kind: EventKind::parse(&kind_text)
                    .ok_or_else(|| corrupt("event kind", &kind_text))?,
                event_id: r.text(2)?,
                event_group_id: r.opt_text(3)?,
                document: json_of(&r.text(4)?)?,
                created_at: r.int(5)?,
            })
        })
        .collect()
}

async fn insert_event<T: Tx>(
    tx: &mut T,
    monitor_id: &str,
    seq: i64,
    kind: EventKind,
    group: Option<String>,
    data: &Value,
    clock: i64,
) -> Result<()> {
    tx.exec(
        "INSERT INTO monitor_events (monitor_id, seq, kind, event_id, event_group_id, data,
            created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            monitor_id.into(),
            seq.into(),
            kind.as_str().into(),
            ids::new_id(EVENT_PREFIX).into(),
            Cell::from(group),
            data.to_string().into(),
            clock.into(),
        ],
    )
    .await?;
    Ok(())
}

async fn queue_delivery<T: Tx>(
    tx: &mut T,
    tenant: &str,
    monitor_id: &str,
    url: &str,
    body: &str,
    now: i64,
) -> Result<()> {
    tx.exec(
        "INSERT INTO webhook_deliveries (delivery_id, tenant_id, run_id, url, body, state,
            next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
        &[
            ids::new_id(webhook::DELIVERY_PREFIX).into(),
            tenant.into(),
            monitor_id.into(),
            url.into(),
            body.into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

/// How a claimed monitor became claimable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    Due,
    Triggered,
    /// A lease expired mid-execution: the same execution again.
    Orphaned,
}

async fn claim<T: Tx>(
    tx: &mut T,
    worker: &str,
    ttl: i64,
    clock: i64,
    limit: usize,
    now: i64,
) -> Executed {
    // A cancelled monitor whose worker died keeps nothing held.
    tx.exec(
        "UPDATE monitors SET lease_owner = NULL, lease_expires_at = NULL
         WHERE lease_owner IS NOT NULL AND lease_expires_at < $1 AND status = 'cancelled'",
        &[now.into()],
    )
    .await?;
    let skip = tx.lock_rows_skip_locked();
    // Three indexed reads, not one OR: each walks its own partial index, so the cost of a
    // claim (and of an idle poll) does not grow with the number of monitors.
    let queries: [(Why, String, Vec<Cell>); 3] = [
        (
            Why::Orphaned,
            format!(
                "SELECT monitor_id FROM monitors
                 WHERE lease_owner IS NOT NULL AND lease_expires_at < $1 AND status = 'active'
                 ORDER BY lease_expires_at LIMIT $2{skip}"
            ),
            vec![now.into()],
        ),
        (
            // Only the triggered index's own condition: with the others in SQL, SQLite's
            // planner (without statistics) walks the whole due index instead. Rows triggered
            // while running are few and are skipped below.
            Why::Triggered,
            format!(
                "SELECT monitor_id, status, lease_owner FROM monitors
                 WHERE trigger_pending = 1 LIMIT $1{skip}"
            ),
            Vec::new(),
        ),
        (
            Why::Due,
            format!(
                "SELECT monitor_id FROM monitors
                 WHERE status = 'active' AND lease_owner IS NULL AND next_due_at <= $1
                 ORDER BY next_due_at LIMIT $2{skip}"
            ),
            vec![clock.into()],
        ),
    ];
    let mut picked: Vec<(String, Why)> = Vec::new();
    for (why, sql, mut params) in queries {
        let room = limit.saturating_sub(picked.len());
        if room == 0 {
            break;
        }
        let extra = if why == Why::Triggered { 64 } else { 0 };
        params.push(((room + extra) as i64).into());
        for row in tx.rows(&sql, &params).await? {
            if why == Why::Triggered && (row.text(1)? != "active" || row.opt_text(2)?.is_some()) {
                continue;
            }
            if picked.len() >= limit {
                break;
            }
            let id = row.text(0)?;
            if !picked.iter().any(|(p, _)| *p == id) {
                picked.push((id, why));
            }
        }
    }
    let mut claimed = Vec::with_capacity(picked.len());
    for (monitor_id, why) in picked {
        let rows = tx
            .rows(
                "SELECT tenant_id, config, anchor_at, period_secs, next_due_at, executions,
                    attempts, task_request, baseline
                 FROM monitors WHERE monitor_id = $1",
                &[monitor_id.as_str().into()],
            )
            .await?;
        let Some(row) = rows.first() else { continue };
        let (anchor, period_secs, due) = (row.int(2)?, row.int(3)?, row.int(4)?);
        let (request, output) = (row.opt_text(7)?, row.opt_text(8)?);
        let readable = MonitorConfig::from_json(&row.text(1)?).and_then(|config| {
            let snapshot = match (request, output) {
                (Some(request), Some(output)) => Some(SnapshotBaseline {
                    request: serde_json::from_str(&request).map_err(|e| e.to_string())?,
                    output: serde_json::from_str(&output).map_err(|e| e.to_string())?,
                }),
                _ => None,
            };
            Ok((config, snapshot))
        });
        let (config, snapshot) = match readable {
            Ok(read) => read,
            Err(why_not) => {
                // One monitor that cannot be read must not stop every claim: it is not run,
                // its slot passes with an error event saying so, and the others go on.
                tracing::error!(monitor_id = %monitor_id, error = %why_not, "a stored monitor cannot be read; skipping its execution");
                quarantine(tx, &monitor_id, anchor, period_secs, clock, &why_not).await?;
                continue;
            }
        };
        let attempt = if why == Why::Orphaned {
            row.int(6)? + 1
        } else {
            1
        };
        // A due monitor's schedule moves to the first slot after the clock (missed slots
        // merge into this execution); a trigger leaves it, unless the slot is due too.
        let next = if due <= clock {
            next_due(&monitor_id, anchor, period_secs * SECOND, clock)
        } else {
            due
        };
        let trigger_stays = if why == Why::Orphaned {
            "trigger_pending"
        } else {
            "0"
        };
        tx.exec(
            &format!(
                "UPDATE monitors SET lease_owner = $2, lease_expires_at = $3, attempts = $4,
                    next_due_at = $5, trigger_pending = {trigger_stays}
                 WHERE monitor_id = $1"
            ),
            &[
                monitor_id.as_str().into(),
                worker.into(),
                (now + ttl).into(),
                attempt.into(),
                next.into(),
            ],
        )
        .await?;
        let seen = tx
            .rows(
                "SELECT data FROM monitor_seen WHERE monitor_id = $1 ORDER BY last_seen_at, seen_key",
                &[monitor_id.as_str().into()],
            )
            .await?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<Vec<_>>>()?;
        claimed.push(ClaimedMonitor {
            tenant: row.text(0)?,
            monitor_id,
            config,
            first: row.int(5)? == 0,
            seen,
            snapshot,
            attempt,
        });
    }
    Ok((MonitorReply::Claimed(claimed), Vec::new()))
}

/// Passes the current slot of a monitor that cannot be read, with an `error` event saying
/// why: its schedule moves on, a trigger or an orphaned lease is dropped.
async fn quarantine<T: Tx>(
    tx: &mut T,
    monitor_id: &str,
    anchor: i64,
    period_secs: i64,
    clock: i64,
    why_not: &str,
) -> Result<()> {
    let next = next_due(monitor_id, anchor, period_secs * SECOND, clock);
    let rows = tx
        .rows(
            "UPDATE monitors SET next_due_at = $2, trigger_pending = 0, lease_owner = NULL,
                lease_expires_at = NULL, event_seq = event_seq + 1
             WHERE monitor_id = $1 RETURNING event_seq",
            &[monitor_id.into(), next.into()],
        )
        .await?;
    let seq = rows
        .first()
        .ok_or_else(|| StoreError::Corrupt(format!("monitor {monitor_id} vanished")))?
        .int(0)?;
    let message = format!(
        "This monitor's stored settings cannot be read ({why_not}), so it did not run. Cancel it and create it again."
    );
    insert_event(
        tx,
        monitor_id,
        seq,
        EventKind::Error,
        None,
        &json!({"error_message": message}),
        clock,
    )
    .await
}

async fn finish<T: Tx>(
    tx: &mut T,
    worker: &str,
    monitor_id: &str,
    execution: Execution,
    clock: i64,
    now: i64,
) -> Executed {
    let sql = format!(
        "SELECT tenant_id, status, lease_owner, config, event_seq, kind
         FROM monitors WHERE monitor_id = $1{}",
        tx.lock_rows()
    );
    let rows = tx.rows(&sql, &[monitor_id.into()]).await?;
    let Some(row) = rows.first() else {
        return Ok((MonitorReply::Finished(false), Vec::new()));
    };
    if row.opt_text(2)?.as_deref() != Some(worker) {
        return Ok((MonitorReply::Finished(false), Vec::new()));
    }
    if row.text(1)? != MonitorStatus::Active.as_str() {
        // Cancelled while it ran: what it found is dropped, the hold released.
        tx.exec(
            "UPDATE monitors SET lease_owner = NULL, lease_expires_at = NULL WHERE monitor_id = $1",
            &[monitor_id.into()],
        )
        .await?;
        return Ok((MonitorReply::Finished(false), Vec::new()));
    }
    let tenant = row.text(0)?;
    let config = MonitorConfig::from_json(&row.text(3)?)
        .map_err(|e| StoreError::Corrupt(format!("monitor config: {e}")))?;
    let mut seq = row.int(4)?;
    let kind_text = row.text(5)?;
    let monitor_kind = MonitorKind::parse(&kind_text).ok_or_else(|| corrupt("type", &kind_text))?;
    let mut append = |kind: EventKind, group: Option<String>, data: Value| {
        seq += 1;
        (seq, kind, group, data)
    };
    let mut rows_to_write = Vec::new();
    let delivery: (&str, Value);
    let mut snapshot_now = None;
    match execution {
        Execution::Ran {
            events,
            observed,
            snapshot,
        } => {
            let observed_was_empty = observed.is_empty();
            for entry in observed {
                tx.exec(
                    "INSERT INTO monitor_seen (monitor_id, seen_key, data, last_seen_at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (monitor_id, seen_key) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                    &[
                        monitor_id.into(),
                        entry.key.into(),
                        entry.data.into(),
                        clock.into(),
                    ],
                )
                .await?;
            }
            if !observed_was_empty {
                // Only the keys seen most recently are kept, so a monitor's memory stays
                // bounded; what is still on the pages is seen again each execution and
                // stays, what is forgotten left the pages long ago.
                tx.exec(
                    "DELETE FROM monitor_seen WHERE monitor_id = $1 AND seen_key IN (
                        SELECT seen_key FROM monitor_seen WHERE monitor_id = $1
                        ORDER BY last_seen_at DESC, seen_key LIMIT 1000000000 OFFSET $2)",
                    &[monitor_id.into(), SEEN_KEPT.into()],
                )
                .await?;
            }
            snapshot_now = snapshot;
            if events.is_empty() {
                let record = append(EventKind::Completion, None, json!({}));
                delivery = (
                    EXECUTION_COMPLETED,
                    json!({"event_type": "completion", "timestamp": parallax_api::time::rfc3339(clock)}),
                );
                rows_to_write.push(record);
            } else {
                let group = ids::new_id(EVENT_GROUP_PREFIX);
                let kind = match monitor_kind {
                    MonitorKind::EventStream => EventKind::EventStream,
                    MonitorKind::Snapshot => EventKind::Snapshot,
                };
                for data in events {
                    rows_to_write.push(append(kind, Some(group.clone()), data));
                }
                delivery = (EVENT_DETECTED, json!({"event_group_id": group}));
            }
        }
        Execution::Failed { message } => {
            delivery = (
                EXECUTION_FAILED,
                json!({
                    "event_type": "error",
                    "error_message": message,
                    "timestamp": parallax_api::time::rfc3339(clock),
                }),
            );
            rows_to_write.push(append(
                EventKind::Error,
                None,
                json!({"error_message": message}),
            ));
        }
    }
    for (seq, kind, group, data) in rows_to_write {
        insert_event(tx, monitor_id, seq, kind, group, &data, clock).await?;
    }
    crate::memory::ops::monitor_changed(tx, monitor_id, None, None, Some(clock)).await?;
    if let Some(hook) = config.webhook.as_ref().filter(|h| h.wants(delivery.0)) {
        let body = webhook_body(
            delivery.0,
            monitor_id,
            config.metadata.as_ref(),
            delivery.1,
            clock,
        );
        queue_delivery(tx, &tenant, monitor_id, &hook.url, &body, now).await?;
    }
    let snapshot_text = snapshot_now.map(|s| s.to_string());
    tx.exec(
        "UPDATE monitors SET lease_owner = NULL, lease_expires_at = NULL, event_seq = $2,
            executions = executions + 1, last_run_at = $3, modified_at = $4,
            latest_snapshot = COALESCE($5, latest_snapshot), baseline = COALESCE($5, baseline)
         WHERE monitor_id = $1",
        &[
            monitor_id.into(),
            seq.into(),
            clock.into(),
            now.into(),
            Cell::from(snapshot_text),
        ],
    )
    .await?;
    Ok((MonitorReply::Finished(true), vec![Notice::Schedule]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600 * SECOND;

    #[test]
    fn due_times_follow_the_anchor_not_the_runs() {
        let anchor = 1_000 * HOUR;
        // Claimed a little late: the next slot is still anchor + 2h (+ jitter).
        let next = next_due("monitor_a", anchor, HOUR, anchor + HOUR + 5 * SECOND);
        assert!((anchor + 2 * HOUR..anchor + 2 * HOUR + JITTER_MAX).contains(&next));
        // Down for ten hours: one execution now, then the first slot after it.
        let next = next_due(
            "monitor_a",
            anchor,
            HOUR,
            anchor + 10 * HOUR + 30 * 60 * SECOND,
        );
        assert!((anchor + 11 * HOUR..anchor + 11 * HOUR + JITTER_MAX).contains(&next));
    }

    #[test]
    fn jitter_is_fixed_per_slot_and_bounded() {
        assert_eq!(jitter("monitor_a", 3, HOUR), jitter("monitor_a", 3, HOUR));
        let spread: std::collections::HashSet<i64> = (0..50)
            .map(|i| jitter(&format!("monitor_{i}"), 1, HOUR))
            .collect();
        assert!(spread.len() > 40, "jitter does not spread monitors");
        assert!((0..200).all(|k| jitter("m", k, HOUR) < JITTER_MAX));
        assert!((0..200).all(|k| jitter("m", k, 120 * SECOND) < 2 * SECOND));
    }
}
