//! Reading rows into the store's types, written once for both backends.
//!
//! Each backend runs its own SQL, but the columns it selects for a run, a claimed run, a
//! group, an event or a delivery are the same lists (the `*_COLUMNS` constants here), and a
//! row of them becomes a value through the one decoder here. A backend only says how to
//! read one typed column of its row ([`Columns`]); a corrupt column is a
//! [`StoreError::Corrupt`] naming what was wrong, on either backend.

use crate::fair::{LaneKey, QueuedRun};
use crate::{
    group_event_kind, group_status, ClaimedRun, Delivery, EventRecord, GroupEventRecord,
    GroupRunRecord, Result, StoreError,
};
use parallax_api::error::ErrorObject;
use parallax_api::group::{GroupStatus, TaskGroup};
use parallax_api::{RunStatus, TaskRun};
use serde_json::value::RawValue;

/// Columns that make a [`TaskRun`], in the order [`task_run`] reads them.
pub(crate) const RUN_COLUMNS: &str =
    "run_id, status, processor, metadata, error, warnings, taskgroup_id, created_at, modified_at";

/// What a claim reads after [`RUN_COLUMNS`], in the order [`claimed_run`] reads them.
pub(crate) const CLAIM_COLUMNS: &str =
    "tenant_id, input_doc, enable_events, previous_interaction_id, attempts, betas";

/// What the runs stream reads after [`RUN_COLUMNS`], in the order [`group_run`] reads them.
pub(crate) const GROUP_RUN_COLUMNS: &str = "group_pos, input_doc, output";

/// Columns of a delivery row as claimed, in the order [`delivery`] reads them.
pub(crate) const DELIVERY_COLUMNS: &str = "delivery_id, tenant_id, url, body, attempts, created_at";

/// Columns of a recorded group event, in the order [`group_event`] reads them.
pub(crate) const GROUP_EVENT_COLUMNS: &str = "seq, kind, data";

/// One row of a query, as either backend returns it: typed reads of its columns.
pub(crate) trait Columns {
    fn text(&self, at: usize) -> Result<String>;
    fn opt_text(&self, at: usize) -> Result<Option<String>>;
    fn int(&self, at: usize) -> Result<i64>;
    fn flag(&self, at: usize) -> Result<bool>;
}

/// Implements [`Columns`] for a backend's row type through its typed getter.
macro_rules! columns_through {
    ($row:ty, $get:ident) => {
        impl Columns for $row {
            fn text(&self, at: usize) -> Result<String> {
                Ok(self.$get(at)?)
            }
            fn opt_text(&self, at: usize) -> Result<Option<String>> {
                Ok(self.$get(at)?)
            }
            fn int(&self, at: usize) -> Result<i64> {
                Ok(self.$get(at)?)
            }
            fn flag(&self, at: usize) -> Result<bool> {
                Ok(self.$get(at)?)
            }
        }
    };
}

columns_through!(rusqlite::Row<'_>, get);
columns_through!(tokio_postgres::Row, try_get);

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// A JSON object stored as text, given back byte for byte.
fn raw_json(text: Option<String>, what: &str) -> Result<Option<Box<RawValue>>> {
    text.map(RawValue::from_string)
        .transpose()
        .map_err(|e| corrupt(what, e))
}

/// The [`TaskRun`] in the [`RUN_COLUMNS`] starting at column `at`.
pub(crate) fn task_run(row: &impl Columns, at: usize) -> Result<TaskRun> {
    let status = row.text(at + 1)?;
    Ok(TaskRun {
        run_id: row.text(at)?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown run status {status:?}")))?,
        processor: row.text(at + 2)?,
        metadata: raw_json(row.opt_text(at + 3)?, "metadata")?,
        error: row
            .opt_text(at + 4)?
            .map(|e| serde_json::from_str::<ErrorObject>(&e))
            .transpose()
            .map_err(|e| corrupt("error", e))?,
        warnings: row
            .opt_text(at + 5)?
            .map(|w| serde_json::from_str(&w))
            .transpose()
            .map_err(|e| corrupt("warnings", e))?,
        taskgroup_id: row.opt_text(at + 6)?,
        created_at: row.int(at + 7)?,
        modified_at: row.int(at + 8)?,
    })
}

/// A claimed run from [`RUN_COLUMNS`] then [`CLAIM_COLUMNS`], with the run as it is now.
pub(crate) fn claimed_run(row: &impl Columns) -> Result<(ClaimedRun, TaskRun)> {
    let run = task_run(row, 0)?;
    Ok((
        ClaimedRun {
            tenant: row.text(9)?,
            run_id: run.run_id.clone(),
            processor: run.processor.clone(),
            input_doc: row.text(10)?,
            enable_events: row.flag(11)?,
            previous_interaction_id: row.opt_text(12)?,
            attempt: row.int(13)?,
            betas: row.opt_text(14)?,
            created_at: run.created_at,
        },
        run,
    ))
}

/// Puts the runs of one claim in the order their `running` events are recorded and the
/// worker gets them: oldest first, then by id, the same on both backends.
pub(crate) fn sort_claimed(claimed: &mut [(ClaimedRun, TaskRun)]) {
    claimed.sort_by(|(_, a), (_, b)| (a.created_at, &a.run_id).cmp(&(b.created_at, &b.run_id)));
}

/// The six `GROUP_STATUS_COLUMNS` values starting at column `at`.
pub(crate) fn status(row: &impl Columns, at: usize) -> Result<GroupStatus> {
    let mut values = [0i64; 6];
    for (i, value) in values.iter_mut().enumerate() {
        *value = row.int(at + i)?;
    }
    Ok(group_status(values))
}

/// A group from `taskgroup_id, metadata, created_at` then `GROUP_STATUS_COLUMNS`.
pub(crate) fn task_group(row: &impl Columns) -> Result<TaskGroup> {
    Ok(TaskGroup {
        taskgroup_id: row.text(0)?,
        metadata: raw_json(row.opt_text(1)?, "group metadata")?,
        created_at: row.int(2)?,
        status: status(row, 3)?,
    })
}

/// A run's recorded event from `seq, data`.
pub(crate) fn event_record(row: &impl Columns) -> Result<EventRecord> {
    Ok(EventRecord {
        seq: row.int(0)?,
        data: row.text(1)?,
    })
}

/// A group's recorded event from [`GROUP_EVENT_COLUMNS`].
pub(crate) fn group_event(row: &impl Columns) -> Result<GroupEventRecord> {
    Ok(GroupEventRecord {
        seq: row.int(0)?,
        kind: group_event_kind(&row.text(1)?)?,
        document: row.text(2)?,
    })
}

/// A run of a group from [`RUN_COLUMNS`] then `group_pos, input_doc, output`, keeping the
/// input and the output only when asked (the output only once the run completed).
pub(crate) fn group_run(
    row: &impl Columns,
    include_input: bool,
    include_output: bool,
) -> Result<GroupRunRecord> {
    let run = task_run(row, 0)?;
    let output = row
        .opt_text(11)?
        .filter(|_| include_output && run.status == RunStatus::Completed);
    Ok(GroupRunRecord {
        position: row.int(9)?,
        input: include_input.then(|| row.text(10)).transpose()?,
        output,
        run,
    })
}

/// A lane's running count from [`crate::fair::RUNNING_BY_LANE`].
pub(crate) fn lane_running(row: &impl Columns) -> Result<(LaneKey, usize)> {
    let count = row.int(2)?;
    Ok((
        (row.text(0)?, row.opt_text(1)?),
        usize::try_from(count).map_err(|e| corrupt("running count", e))?,
    ))
}

/// A queued run from `tenant_id, taskgroup_id, run_id, created_at`.
pub(crate) fn queued_run(row: &impl Columns) -> Result<QueuedRun> {
    Ok(QueuedRun {
        lane: (row.text(0)?, row.opt_text(1)?),
        run_id: row.text(2)?,
        created_at: row.int(3)?,
    })
}

/// A delivery from [`DELIVERY_COLUMNS`], its tenant's secret still to be filled in.
pub(crate) fn delivery(row: &impl Columns) -> Result<Delivery> {
    Ok(Delivery {
        delivery_id: row.text(0)?,
        tenant: row.text(1)?,
        url: row.text(2)?,
        body: row.text(3)?,
        attempt: row.int(4)?,
        created_at: row.int(5)?,
        secret: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(run_id: &str, created_at: i64) -> (ClaimedRun, TaskRun) {
        let run = TaskRun {
            run_id: run_id.into(),
            status: RunStatus::Running,
            processor: "lite".into(),
            metadata: None,
            error: None,
            warnings: None,
            taskgroup_id: None,
            created_at,
            modified_at: created_at,
        };
        let claim = ClaimedRun {
            tenant: "t".into(),
            run_id: run_id.into(),
            processor: "lite".into(),
            input_doc: "{}".into(),
            enable_events: false,
            previous_interaction_id: None,
            attempt: 1,
            betas: None,
            created_at,
        };
        (claim, run)
    }

    #[test]
    fn a_claim_is_ordered_by_age_then_id_on_both_backends() {
        let mut runs = vec![claimed("b", 5), claimed("c", 1), claimed("a", 5)];
        sort_claimed(&mut runs);
        let order: Vec<&str> = runs.iter().map(|(c, _)| c.run_id.as_str()).collect();
        assert_eq!(order, vec!["c", "a", "b"]);
    }
}
