//! The engine: executes statements against the catalog, the log and running queries.
