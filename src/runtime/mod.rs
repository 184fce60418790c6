//! The runtime: tasks over partitions, worker threads, stream time and commits.
