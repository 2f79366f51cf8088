//! The little of a transaction the store logic written once for both backends needs (FindAll
//! in `crate::findall::ops`, monitors in `crate::monitor::ops`): run a statement with
//! parameters, get its rows back as plain cells. Each backend adapts its own transaction to
//! [`Tx`] ([`adapters`]), so that logic and its SQL are written once.
//!
//! SQL here is written with PostgreSQL's `$1` placeholders; the SQLite adapter turns them
//! into `?1`, which SQLite binds by number just the same.

pub(crate) mod adapters;

use crate::{Result, StoreError};

/// A statement parameter.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Int(i64),
    Text(String),
    /// NULL in an integer column.
    NullInt,
    /// NULL in a text column.
    NullText,
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Int(n)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Cell {
        s.map_or(Cell::NullText, Cell::Text)
    }
}

impl From<Option<i64>> for Cell {
    fn from(n: Option<i64>) -> Cell {
        n.map_or(Cell::NullInt, Cell::Int)
    }
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Got {
    Null,
    Int(i64),
    Text(String),
}

/// One row of a result, read by position.
pub(crate) struct Row(pub Vec<Got>);

impl Row {
    pub fn int(&self, at: usize) -> Result<i64> {
        match self.0.get(at) {
            Some(Got::Int(n)) => Ok(*n),
            other => Err(StoreError::Corrupt(format!(
                "column {at}: expected an integer, found {other:?}"
            ))),
        }
    }

    pub fn text(&self, at: usize) -> Result<String> {
        match self.0.get(at) {
            Some(Got::Text(s)) => Ok(s.clone()),
            other => Err(StoreError::Corrupt(format!(
                "column {at}: expected text, found {other:?}"
            ))),
        }
    }

    pub fn opt_int(&self, at: usize) -> Result<Option<i64>> {
        match self.0.get(at) {
            Some(Got::Null) => Ok(None),
            _ => self.int(at).map(Some),
        }
    }

    pub fn opt_text(&self, at: usize) -> Result<Option<String>> {
        match self.0.get(at) {
            Some(Got::Null) => Ok(None),
            _ => self.text(at).map(Some),
        }
    }
}

/// A transaction (or, for reads, a connection) of one backend.
pub(crate) trait Tx {
    /// What a `SELECT` appends to lock the rows it reads until the transaction ends, where
    /// the backend needs it (PostgreSQL; SQLite's one writer already excludes the others).
    fn lock_rows(&self) -> &'static str;
    /// As [`Tx::lock_rows`], but skipping rows another transaction holds (claims).
    fn lock_rows_skip_locked(&self) -> &'static str;
    async fn rows(&mut self, sql: &str, params: &[Cell]) -> Result<Vec<Row>>;
    async fn exec(&mut self, sql: &str, params: &[Cell]) -> Result<u64>;
}

/// `sql` with `$n` placeholders written as SQLite's `?n`.
pub(crate) fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_become_numbered_question_marks() {
        assert_eq!(
            super::sqlite_placeholders("SELECT $1, $12 WHERE a = '$'"),
            "SELECT ?1, ?12 WHERE a = '$'"
        );
    }
}
