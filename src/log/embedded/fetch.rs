//! Reading a run of frames from a segment, outside the partition lock.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::frame::{self, FrameError, MIN_FRAME};
use super::segment::SegmentView;
use crate::log::{LogError, LogResult};

/// Bytes read from a segment, starting at a frame boundary. The first frame is complete and
/// checked; the last may be cut off by the read size.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The frames, one buffer that decoded keys and values slice into.
    pub data: Bytes,
    /// The segment file, for error messages.
    pub path: Arc<PathBuf>,
    /// Where `data` starts in the file.
    pub file_position: u64,
}

impl SegmentView {
    /// Reads about `max_bytes` starting at the frame holding `offset` (or the first frame
    /// after it). `None` when the segment holds nothing at or after `offset`.
    pub fn read_from(&self, offset: i64, max_bytes: usize) -> LogResult<Option<Chunk>> {
        let mut position = self.position;
        let mut min_len = MIN_FRAME;
        loop {
            if position >= self.end {
                return Ok(None);
            }
            let available = self.end - position;
            let len = (max_bytes.max(min_len) as u64).min(available) as usize;
            let mut data = vec![0u8; len];
            self.file
                .read_exact_at(&mut data, position)
                .map_err(|e| LogError::io(format!("cannot read {}", self.path.display()), e))?;
            let mut at = 0;
            let needed = loop {
                match frame::check(&data, at) {
                    Ok(span) if span.offset >= offset => {
                        return Ok(Some(Chunk {
                            data: Bytes::from(data).slice(at..),
                            path: Arc::clone(&self.path),
                            file_position: position + at as u64,
                        }));
                    }
                    Ok(span) => at = span.end,
                    Err(FrameError::Incomplete { needed }) => break needed,
                    Err(e) => return Err(self.corrupt(position + at as u64, offset, &e)),
                }
            };
            // Every frame read so far is before `offset`, and the next one starts at `at` but
            // was not (fully) read: read again from there, big enough to hold it.
            let beyond_end = match needed {
                Some(needed) => position + (at + needed) as u64 > self.end,
                // Under 4 bytes left although the read was not cut short.
                None => at == 0,
            };
            if beyond_end {
                let e = FrameError::Incomplete { needed };
                return Err(self.corrupt(position + at as u64, offset, &e));
            }
            position += at as u64;
            min_len = needed.unwrap_or(MIN_FRAME);
        }
    }

    fn corrupt(&self, position: u64, offset: i64, e: &FrameError) -> LogError {
        LogError::Corrupt {
            path: self.path.display().to_string(),
            reason: format!("bad record frame at byte {position} while reading offset {offset}: {e}"),
        }
    }
}
