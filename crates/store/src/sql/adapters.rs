//! Each backend's [`Tx`]: a rusqlite connection (inside the writer's transaction, or a
//! reader) and a tokio-postgres client or transaction.

use super::{sqlite_placeholders, Cell, Got, Row, Tx};
use crate::{Result, StoreError};
use tokio_postgres::types::{ToSql, Type};

/// A SQLite connection. Its methods never wait, so the logic written for both backends runs
/// on the writer thread under `futures::executor::block_on`.
pub(crate) struct SqliteTx<'a>(pub &'a rusqlite::Connection);

fn sqlite_value(cell: &Cell) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match cell {
        Cell::Int(n) => Value::Integer(*n),
        Cell::Text(s) => Value::Text(s.clone()),
        Cell::NullInt | Cell::NullText => Value::Null,
    }
}

impl Tx for SqliteTx<'_> {
    fn lock_rows(&self) -> &'static str {
        ""
    }

    fn lock_rows_skip_locked(&self) -> &'static str {
        ""
    }

    async fn rows(&mut self, sql: &str, params: &[Cell]) -> Result<Vec<Row>> {
        use rusqlite::types::ValueRef;
        let mut stmt = self.0.prepare_cached(&sqlite_placeholders(sql))?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(sqlite_value)))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(match row.get_ref(i)? {
                    ValueRef::Null => Got::Null,
                    ValueRef::Integer(n) => Got::Int(n),
                    ValueRef::Text(t) => Got::Text(String::from_utf8_lossy(t).into_owned()),
                    other => {
                        return Err(StoreError::Corrupt(format!(
                            "column {i}: unexpected {:?}",
                            other.data_type()
                        )))
                    }
                });
            }
            out.push(Row(cells));
        }
        Ok(out)
    }

    async fn exec(&mut self, sql: &str, params: &[Cell]) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(&sqlite_placeholders(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))? as u64)
    }
}

/// A PostgreSQL client or transaction.
pub(crate) struct PgTx<'a, C>(pub &'a C);

fn pg_params(params: &[Cell]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|cell| -> Box<dyn ToSql + Sync + Send> {
            match cell {
                Cell::Int(n) => Box::new(*n),
                Cell::Text(s) => Box::new(s.clone()),
                Cell::NullInt => Box::new(None::<i64>),
                Cell::NullText => Box::new(None::<String>),
            }
        })
        .collect()
}

fn pg_row(row: &tokio_postgres::Row) -> Result<Row> {
    let mut cells = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Got::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|n| Got::Int(n.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|b| Got::Int(b.into()))
        } else {
            row.try_get::<_, Option<String>>(i)?.map(Got::Text)
        };
        cells.push(cell.unwrap_or(Got::Null));
    }
    Ok(Row(cells))
}

impl<C: tokio_postgres::GenericClient + Sync> Tx for PgTx<'_, C> {
    fn lock_rows(&self) -> &'static str {
        " FOR UPDATE"
    }

    fn lock_rows_skip_locked(&self) -> &'static str {
        " FOR UPDATE SKIP LOCKED"
    }

    async fn rows(&mut self, sql: &str, params: &[Cell]) -> Result<Vec<Row>> {
        let owned = pg_params(params);
        let refs: Vec<&(dyn ToSql + Sync)> =
            owned.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
        self.0.query(sql, &refs).await?.iter().map(pg_row).collect()
    }

    async fn exec(&mut self, sql: &str, params: &[Cell]) -> Result<u64> {
        let owned = pg_params(params);
        let refs: Vec<&(dyn ToSql + Sync)> =
            owned.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
        Ok(self.0.execute(sql, &refs).await?)
    }
}
