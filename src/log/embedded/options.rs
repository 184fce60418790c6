//! Tuning knobs of the embedded log.

use std::time::Duration;

use crate::log::{LogError, LogResult};

/// When appended data is forced to stable storage with fsync.
///
/// Every policy writes appended bytes to the OS before `append` returns, so a killed process
/// loses nothing; the policy only decides how much a power loss or kernel crash can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Only `Log::flush` (and segment rolls) fsync; the OS writes back on its own schedule.
    #[default]
    OnFlush,
    /// Every append is fsynced before it returns (slow, but survives power loss).
    EveryAppend,
    /// An append fsyncs its partition when the previous fsync is older than the interval.
    Interval(Duration),
}

/// How the embedded log stores data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedLogOptions {
    /// A partition starts a new segment file once the active one would grow past this size.
    pub segment_bytes: u64,
    /// A sparse index entry is written every time this many bytes were appended to a segment.
    pub index_interval_bytes: u32,
    /// When data reaches stable storage.
    pub fsync: FsyncPolicy,
    /// How many bytes a consumer reads from a partition in one go.
    pub fetch_bytes: usize,
    /// How often the cleaner looks for `cleanup.policy=compact` partitions to compact;
    /// `None` turns it off ([`super::EmbeddedLog::compact_now`] still works).
    pub compaction_interval: Option<Duration>,
}

/// The largest segment size; index positions are 32-bit and one oversized record may still
/// follow a full segment.
pub const MAX_SEGMENT_BYTES: u64 = 1 << 30;

/// The smallest segment size accepted, so tests can roll often without degenerate files.
pub const MIN_SEGMENT_BYTES: u64 = 128;

impl Default for EmbeddedLogOptions {
    fn default() -> Self {
        EmbeddedLogOptions {
            segment_bytes: 64 * 1024 * 1024,
            index_interval_bytes: 4096,
            fsync: FsyncPolicy::default(),
            fetch_bytes: 1024 * 1024,
            compaction_interval: Some(Duration::from_secs(1)),
        }
    }
}

impl EmbeddedLogOptions {
    /// Checks the options are usable.
    pub fn validate(&self) -> LogResult<()> {
        if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&self.segment_bytes) {
            return Err(LogError::Invalid(format!(
                "segment_bytes must be between {MIN_SEGMENT_BYTES} and {MAX_SEGMENT_BYTES}, got {}",
                self.segment_bytes
            )));
        }
        if self.index_interval_bytes == 0 {
            return Err(LogError::Invalid("index_interval_bytes must be at least 1".into()));
        }
        if self.fetch_bytes == 0 {
            return Err(LogError::Invalid("fetch_bytes must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_sizes_are_rejected() {
        assert!(EmbeddedLogOptions::default().validate().is_ok());
        let tiny = EmbeddedLogOptions {
            segment_bytes: 10,
            ..Default::default()
        };
        let err = tiny.validate().unwrap_err().to_string();
        assert!(err.contains("segment_bytes"), "{err}");
        let no_index = EmbeddedLogOptions {
            index_interval_bytes: 0,
            ..Default::default()
        };
        assert!(no_index.validate().is_err());
    }
}
