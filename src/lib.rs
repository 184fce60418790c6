//! # Runnel
//!
//! A streaming SQL engine in the spirit of ksqlDB and Kafka Streams.
//!
//! A statement travels down the layers:
//! [`sql`] parses it, [`plan`] binds names and types into a logical plan, [`topology`] lowers
//! the plan into processors and stores, [`runtime`] runs the processors as tasks over
//! partitions of the [`log`], keeping state in [`state`]. [`format`] turns record bytes into
//! Arrow columns and back; [`function`] holds the scalar, aggregate and table functions.
//! [`engine`] ties the layers together behind one `execute(statement)` entry point used by the
//! front doors, [`shell`] and [`server`].
#![warn(missing_docs)]

pub mod conformance;
pub mod engine;
pub mod error;
pub mod format;
pub mod function;
pub mod log;
pub mod plan;
pub mod runtime;
pub mod server;
pub mod shell;
pub mod sql;
pub mod state;
pub mod topology;
pub mod types;

pub use error::{Error, ErrorKind, Result};
