//! Walking the frames of a segment file in windows, for recovery and index rebuilding.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::frame::{self, FrameError, MIN_FRAME};
use super::index::{self, IndexEntry};
use crate::log::{LogError, LogResult};

/// How much of a segment is read at once while scanning.
const WINDOW: usize = 1024 * 1024;

/// A checked frame, in file positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFrame {
    /// Where the frame starts.
    pub start: u64,
    /// One past its end.
    pub end: u64,
    /// The record offset in it.
    pub offset: i64,
}

/// Reads a file through a window buffer, so scanning costs one read per window, not per frame.
pub struct FileReader<'a> {
    file: &'a File,
    path: &'a Path,
    len: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> FileReader<'a> {
    /// A reader over the first `len` bytes of `file`.
    pub fn new(file: &'a File, path: &'a Path, len: u64) -> Self {
        FileReader {
            file,
            path,
            len,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    /// Makes the window cover `[pos, pos + n)`, which must lie within the file.
    fn ensure(&mut self, pos: u64, n: usize) -> LogResult<()> {
        let buf_end = self.buf_start + self.buf.len() as u64;
        if pos >= self.buf_start && pos + n as u64 <= buf_end {
            return Ok(());
        }
        let want = n.max(WINDOW).min((self.len - pos) as usize);
        self.buf.resize(want, 0);
        self.file
            .read_exact_at(&mut self.buf, pos)
            .map_err(|e| LogError::io(format!("cannot read {}", self.path.display()), e))?;
        self.buf_start = pos;
        Ok(())
    }

    /// The bytes `[pos, pos + n)`, which must lie within the file.
    fn bytes(&mut self, pos: u64, n: usize) -> LogResult<&[u8]> {
        self.ensure(pos, n)?;
        let at = (pos - self.buf_start) as usize;
        Ok(&self.buf[at..at + n])
    }

    /// Checks the frame at `pos`. The outer error is an I/O failure; the inner one says why
    /// the bytes there are not a complete, intact frame.
    pub fn frame_at(&mut self, pos: u64) -> LogResult<Result<FileFrame, FrameError>> {
        if pos + 4 > self.len {
            return Ok(Err(FrameError::Incomplete { needed: None }));
        }
        let size = match frame::announced_size(self.bytes(pos, 4)?, 0) {
            Ok(size) => size,
            Err(e) => return Ok(Err(e)),
        };
        if pos + size as u64 > self.len {
            return Ok(Err(FrameError::Incomplete { needed: Some(size) }));
        }
        Ok(frame::check(self.bytes(pos, size)?, 0).map(|span| FileFrame {
            start: pos,
            end: pos + size as u64,
            offset: span.offset,
        }))
    }
}

/// Where a scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// Every byte up to the end of the file is an intact frame.
    Clean {
        /// The end of the last frame (the file length).
        end_position: u64,
        /// The offset after the last frame.
        next_offset: i64,
    },
    /// A bad or cut-off frame starts at `position`.
    Bad {
        /// Where the bad bytes start.
        position: u64,
        /// The offset the frame there should have had.
        next_offset: i64,
        /// What is wrong with it.
        reason: String,
    },
}

/// The index being rebuilt while scanning a segment.
#[derive(Debug)]
pub struct IndexRebuild {
    /// The segment's base offset.
    pub base: i64,
    /// Entries so far.
    pub entries: Vec<IndexEntry>,
    /// Bytes scanned since the last entry.
    pub bytes_since_entry: u64,
    /// Bytes between entries.
    pub interval: u64,
}

/// Checks frames from `position` (holding `first_offset`) to the end of the file, adding index
/// entries exactly as appends do.
pub fn scan_frames(
    reader: &mut FileReader<'_>,
    mut position: u64,
    first_offset: i64,
    index: &mut IndexRebuild,
) -> LogResult<ScanEnd> {
    let mut expected = first_offset;
    loop {
        if position == reader.len {
            return Ok(ScanEnd::Clean {
                end_position: position,
                next_offset: expected,
            });
        }
        let bad = move |reason: String| ScanEnd::Bad {
            position,
            next_offset: expected,
            reason,
        };
        match reader.frame_at(position)? {
            // Offsets only grow; a compacted segment has gaps.
            Ok(f) if f.offset >= expected => {
                // Segment files are capped below 4 GiB, so positions and offsets fit.
                if let Some(entry) = index::entry_for_frame(
                    &mut index.bytes_since_entry,
                    index.interval,
                    (f.offset - index.base) as u32,
                    f.start as u32,
                    f.end - f.start,
                ) {
                    index.entries.push(entry);
                }
                position = f.end;
                expected = f.offset + 1;
            }
            Ok(f) => return Ok(bad(format!("it holds offset {}", f.offset))),
            Err(e) => return Ok(bad(e.to_string())),
        }
    }
}

/// Looks for an intact frame after the bad one at `bad_position`, to tell a torn tail (nothing
/// valid follows, safe to cut) from damage in the middle (valid records follow). Returns where
/// the first intact frame starts.
pub fn find_valid_frame_after(
    reader: &mut FileReader<'_>,
    bad_position: u64,
    expected_offset: i64,
) -> LogResult<Option<u64>> {
    if reader.len < MIN_FRAME as u64 {
        return Ok(None);
    }
    let max_frames = ((reader.len - bad_position) / MIN_FRAME as u64) as i64 + 1;
    let last_candidate = reader.len - MIN_FRAME as u64;
    let mut candidate = bad_position + 1;
    let len = reader.len;
    while candidate <= last_candidate {
        // Cheap filters first (sane length, plausible offset) so garbage rarely costs a CRC.
        let head = reader.bytes(candidate, 16)?;
        let plausible = match frame::announced_size(head, 0) {
            Ok(size) if candidate + size as u64 <= len => {
                let mut offset = [0u8; 8];
                offset.copy_from_slice(&head[8..16]);
                let offset = i64::from_le_bytes(offset);
                offset >= expected_offset && offset <= expected_offset.saturating_add(max_frames)
            }
            _ => false,
        };
        if plausible && reader.frame_at(candidate)?.is_ok() {
            return Ok(Some(candidate));
        }
        candidate += 1;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Record;
    use std::io::Write;

    fn rebuild(interval: u64) -> IndexRebuild {
        IndexRebuild {
            base: 0,
            entries: Vec::new(),
            bytes_since_entry: 0,
            interval,
        }
    }

    fn write_frames(path: &Path, n: i64) -> Vec<u64> {
        let mut buf = Vec::new();
        let mut starts = Vec::new();
        for i in 0..n {
            starts.push(buf.len() as u64);
            let rec = Record {
                value: Some(bytes::Bytes::from(vec![b'x'; 40])),
                ..Default::default()
            };
            frame::encode(&mut buf, i, &rec).unwrap();
        }
        std::fs::File::create(path).unwrap().write_all(&buf).unwrap();
        starts
    }

    #[test]
    fn clean_scan_reaches_the_end_and_indexes() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("seg");
        write_frames(&path, 10);
        let file = File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        let mut reader = FileReader::new(&file, &path, len);
        let mut index = rebuild(100);
        let end = scan_frames(&mut reader, 0, 0, &mut index).unwrap();
        assert_eq!(
            end,
            ScanEnd::Clean {
                end_position: len,
                next_offset: 10
            }
        );
        assert!(index.entries.len() >= 3, "{:?}", index.entries);
    }

    #[test]
    fn damage_in_the_middle_is_told_apart_from_a_torn_tail() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("seg");
        let starts = write_frames(&path, 10);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[starts[4] as usize + 20] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let mut reader = FileReader::new(&file, &path, bytes.len() as u64);
        let end = scan_frames(&mut reader, 0, 0, &mut rebuild(1 << 20)).unwrap();
        let ScanEnd::Bad {
            position, next_offset, ..
        } = end
        else {
            panic!("expected a bad frame, got {end:?}");
        };
        assert_eq!((position, next_offset), (starts[4], 4));
        let found = find_valid_frame_after(&mut reader, position, next_offset).unwrap();
        assert_eq!(found, Some(starts[5]));

        // Garbage after the last frame has no valid frame behind it.
        let mut torn = std::fs::read(&path).unwrap();
        torn.truncate(starts[9] as usize + 7);
        torn.extend_from_slice(&[0xAB; 33]);
        let torn_path = dir.path().join("torn");
        std::fs::write(&torn_path, &torn).unwrap();
        let file = File::open(&torn_path).unwrap();
        let mut reader = FileReader::new(&file, &torn_path, torn.len() as u64);
        assert_eq!(find_valid_frame_after(&mut reader, starts[9], 9).unwrap(), None);
    }
}
