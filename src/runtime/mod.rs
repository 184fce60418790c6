//! The runtime: physical expressions, the Processor API, tasks over partitions, worker
//! threads, stream time and commits.
//!
//! A query runs as a [`graph::ProcessorGraph`] (built by the `topology` module) instantiated
//! once per partition as a [`task::Task`]; [`query::RunningQuery`] spreads the tasks over
//! worker threads that poll the log, process batches and commit offsets.

pub mod batch;
pub mod expr;
pub mod graph;
pub mod ops;
pub mod processing_log;
pub mod processor;
pub mod query;
pub mod sink;
pub mod source;
pub mod task;
