//! The runtime: physical expressions, processors, tasks over partitions, worker threads,
//! stream time and commits.

pub mod expr;
