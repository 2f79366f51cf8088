//! Wire types and request validation for the Parallel API, with no I/O.
//!
//! This crate owns everything about what goes over the wire: the shape of each response
//! ([`TaskRun`], [`ErrorBody`]), the parsing and validation of each request
//! ([`create::parse_create_run`]), Parallel's rules for output schemas ([`output_schema`]),
//! the ids Parallax hands out ([`ids`]) and the time format ([`time`]). The HTTP layer turns
//! an [`ApiError`] into a response; storage keeps what [`create::NewRun`] carries. Nothing
//! here opens a socket or a file.

pub mod beta;
pub mod chat;
pub mod create;
pub mod error;
pub mod events;
pub mod findall;
pub mod group;
pub mod ids;
pub mod memory;
pub mod monitor;
pub mod openapi;
pub mod output_schema;
pub mod raw;
pub mod run;
pub mod source_policy;
pub mod time;
pub mod web;
pub mod webhook;

pub use error::{ApiError, ErrorBody, FieldError};
pub use run::{RunStatus, TaskRun};

/// Strategies of the property tests that fuzz the request parsers (`monitor::fuzz`,
/// `chat::fuzz`).
#[cfg(test)]
mod fuzz;
