//! The embedded log: durable segment files under the data directory.

/// The embedded, file-backed log.
#[derive(Debug)]
pub struct EmbeddedLog;
