//! One segment of a partition: a `.log` file of record frames starting at a base offset, and
//! its sparse `.index`. Only the last segment of a partition (the active one) is appended to.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::files;
use super::frame::{self, FrameError};
use super::index::{self, ENTRY_BYTES, IndexEntry};
use super::options::EmbeddedLogOptions;
use super::scan::{FileReader, IndexRebuild, ScanEnd, find_valid_frame_after, scan_frames};
use crate::log::{LogError, LogResult, Record};

/// Digits of the zero-padded base offset in segment file names (Kafka's convention).
const NAME_DIGITS: usize = 20;

/// The file name of a segment's log (`ext` = "log") or index (`ext` = "index").
pub fn file_name(base: i64, ext: &str) -> String {
    format!("{base:0NAME_DIGITS$}.{ext}")
}

/// The base offset of a segment log file name, or `None` for any other file.
pub fn parse_log_name(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A segment file and its index, as kept in memory.
#[derive(Debug)]
pub struct Segment {
    base: i64,
    log_path: Arc<PathBuf>,
    index_path: PathBuf,
    file: Arc<File>,
    /// Bytes of complete frames; appends write here.
    size: u64,
    index: Vec<IndexEntry>,
    /// Open only while the segment is active.
    index_file: Option<File>,
    persisted_index_entries: usize,
    bytes_since_index: u64,
    /// Written since the last fsync.
    dirty: bool,
}

/// What a reader needs to read a segment without holding the partition lock.
#[derive(Debug, Clone)]
pub struct SegmentView {
    /// The open segment file; an `Arc` so a concurrent delete does not close it mid-read.
    pub file: Arc<File>,
    /// Its path, for error messages.
    pub path: Arc<PathBuf>,
    /// Where to start reading: at or before the wanted offset's frame.
    pub position: u64,
    /// The end of the complete frames when the view was taken.
    pub end: u64,
}

fn open_error(path: &Path, e: std::io::Error) -> LogError {
    LogError::io(format!("cannot open segment {}", path.display()), e)
}

impl Segment {
    /// Creates a new, empty active segment at `base`.
    pub fn create(dir: &Path, base: i64) -> LogResult<Segment> {
        let log_path = dir.join(file_name(base, "log"));
        let index_path = dir.join(file_name(base, "index"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&log_path)
            .map_err(|e| LogError::io(format!("cannot create segment {}", log_path.display()), e))?;
        let index_file = create_index_file(&index_path)
            .map_err(|e| LogError::io(format!("cannot create index {}", index_path.display()), e))?;
        Ok(Segment {
            base,
            log_path: Arc::new(log_path),
            index_path,
            file: Arc::new(file),
            size: 0,
            index: Vec::new(),
            index_file: Some(index_file),
            persisted_index_entries: 0,
            bytes_since_index: 0,
            dirty: true,
        })
    }

    /// Opens a segment that is no longer appended to; its index is rebuilt if damaged.
    pub fn open_sealed(dir: &Path, base: i64, options: &EmbeddedLogOptions) -> LogResult<Segment> {
        let log_path = dir.join(file_name(base, "log"));
        let index_path = dir.join(file_name(base, "index"));
        let file = File::open(&log_path).map_err(|e| open_error(&log_path, e))?;
        let size = file_len(&file, &log_path)?;
        let index = match load_index(&index_path, size)? {
            Some(entries) => entries,
            None => {
                let mut reader = FileReader::new(&file, &log_path, size);
                let mut rebuild = IndexRebuild {
                    base,
                    entries: Vec::new(),
                    bytes_since_entry: 0,
                    interval: u64::from(options.index_interval_bytes),
                };
                match scan_frames(&mut reader, 0, base, &mut rebuild)? {
                    ScanEnd::Clean { .. } => {}
                    ScanEnd::Bad {
                        position,
                        next_offset,
                        reason,
                    } => {
                        return Err(corrupt(&log_path, position, next_offset, &reason, None));
                    }
                }
                files::write_atomically(&index_path, &index::encode(&rebuild.entries), false)?;
                rebuild.entries
            }
        };
        Ok(Segment {
            base,
            log_path: Arc::new(log_path),
            index_path,
            file: Arc::new(file),
            size,
            persisted_index_entries: index.len(),
            index,
            index_file: None,
            bytes_since_index: 0,
            dirty: false,
        })
    }

    /// Opens the last segment of a partition for appending, recovering from a crash: the
    /// frames after the last intact index entry are checked, a torn tail is cut off and the
    /// index completed. Returns the segment and the next offset to append.
    pub fn open_active(dir: &Path, base: i64, options: &EmbeddedLogOptions) -> LogResult<(Segment, i64)> {
        let log_path = dir.join(file_name(base, "log"));
        let index_path = dir.join(file_name(base, "index"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(|e| open_error(&log_path, e))?;
        let len = file_len(&file, &log_path)?;
        let loaded = load_index(&index_path, len)?;
        let mut entries = loaded.clone().unwrap_or_default();
        let mut reader = FileReader::new(&file, &log_path, len);

        // The index is written after the log, so normally its last entry is intact; after a
        // power loss it may point at lost data, so fall back entry by entry.
        let (start_position, start_offset) = loop {
            let Some(last) = entries.last().copied() else {
                break (0, base);
            };
            let expected = base + i64::from(last.relative_offset);
            match reader.frame_at(u64::from(last.position))? {
                Ok(f) if f.offset == expected => break (u64::from(last.position), expected),
                _ => {
                    entries.pop();
                }
            }
        };

        let mut rebuild = IndexRebuild {
            base,
            entries,
            bytes_since_entry: 0,
            interval: u64::from(options.index_interval_bytes),
        };
        let scanned = scan_frames(&mut reader, start_position, start_offset, &mut rebuild)?;
        let entries = rebuild.entries;
        let since = rebuild.bytes_since_entry;
        let (size, next_offset) = match scanned {
            ScanEnd::Clean {
                end_position,
                next_offset,
            } => (end_position, next_offset),
            ScanEnd::Bad {
                position,
                next_offset,
                reason,
            } => {
                if let Some(valid) = find_valid_frame_after(&mut reader, position, next_offset)? {
                    return Err(corrupt(&log_path, position, next_offset, &reason, Some(valid)));
                }
                // Nothing valid follows: the tail of an interrupted write. Cut it off.
                file.set_len(position)
                    .map_err(|e| LogError::io(format!("cannot truncate torn tail of {}", log_path.display()), e))?;
                (position, next_offset)
            }
        };

        if loaded.as_ref() != Some(&entries) {
            files::write_atomically(&index_path, &index::encode(&entries), false)?;
        }
        let index_file = OpenOptions::new()
            .write(true)
            .open(&index_path)
            .or_else(|_| create_index_file(&index_path))
            .map_err(|e| LogError::io(format!("cannot open index {}", index_path.display()), e))?;
        let segment = Segment {
            base,
            log_path: Arc::new(log_path),
            index_path,
            file: Arc::new(file),
            size,
            persisted_index_entries: entries.len(),
            index: entries,
            index_file: Some(index_file),
            bytes_since_index: since,
            dirty: true,
        };
        Ok((segment, next_offset))
    }

    /// Bytes of complete frames in the file.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether a record of `frame_size` bytes must go to a new segment.
    pub fn is_full_for(&self, frame_size: usize, options: &EmbeddedLogOptions) -> bool {
        self.size > 0 && self.size + frame_size as u64 > options.segment_bytes
    }

    /// Appends as many of `records` as fit (at least one when the segment is empty), numbered
    /// from `first_offset`, in a single write. Returns how many were written.
    pub fn append(
        &mut self,
        records: &[Record],
        first_offset: i64,
        options: &EmbeddedLogOptions,
        scratch: &mut Vec<u8>,
    ) -> LogResult<usize> {
        scratch.clear();
        let mut new_entries = Vec::new();
        let mut since = self.bytes_since_index;
        let interval = u64::from(options.index_interval_bytes);
        let mut count = 0;
        for record in records {
            let frame_size = frame::frame_size(record);
            let position = self.size + scratch.len() as u64;
            if position > 0 && position + frame_size as u64 > options.segment_bytes {
                break;
            }
            let offset = first_offset + count as i64;
            // Both fit: segments hold far fewer than 2^32 records and bytes.
            if let Some(entry) = index::entry_for_frame(
                &mut since,
                interval,
                (offset - self.base) as u32,
                position as u32,
                frame_size as u64,
            ) {
                new_entries.push(entry);
            }
            frame::encode(scratch, offset, record).map_err(|e| match e {
                FrameError::TooLarge(msg) => LogError::Invalid(msg),
                other => LogError::Invalid(other.to_string()),
            })?;
            count += 1;
        }
        if count == 0 {
            return Ok(0);
        }
        let old_size = self.size;
        if let Err(e) = self.file.write_all_at(scratch, old_size) {
            // Drop whatever part landed so the file never holds a half batch we did not count.
            let _ = self.file.set_len(old_size);
            return Err(LogError::io(format!("cannot append to {}", self.log_path.display()), e));
        }
        if !new_entries.is_empty()
            && let Some(index_file) = &self.index_file
        {
            let bytes = index::encode(&new_entries);
            let at = (self.persisted_index_entries * ENTRY_BYTES) as u64;
            if let Err(e) = index_file.write_all_at(&bytes, at) {
                let _ = self.file.set_len(old_size);
                return Err(LogError::io(
                    format!("cannot write index {}", self.index_path.display()),
                    e,
                ));
            }
            self.persisted_index_entries += new_entries.len();
        }
        self.index.extend(new_entries);
        self.size = old_size + scratch.len() as u64;
        self.bytes_since_index = since;
        self.dirty = true;
        Ok(count)
    }

    /// Where to read `offset` from (it must be in this segment).
    pub fn view(&self, offset: i64) -> SegmentView {
        let relative = u32::try_from(offset - self.base).unwrap_or(0);
        SegmentView {
            file: Arc::clone(&self.file),
            path: Arc::clone(&self.log_path),
            position: u64::from(index::lookup(&self.index, relative)),
            end: self.size,
        }
    }

    /// Fsyncs data and index written since the last sync.
    pub fn sync(&mut self) -> LogResult<()> {
        if !self.dirty {
            return Ok(());
        }
        self.file
            .sync_data()
            .map_err(|e| LogError::io(format!("cannot fsync {}", self.log_path.display()), e))?;
        if let Some(index_file) = &self.index_file {
            index_file
                .sync_data()
                .map_err(|e| LogError::io(format!("cannot fsync {}", self.index_path.display()), e))?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Stops appending to this segment: its index file is closed.
    pub fn seal(&mut self) {
        self.index_file = None;
    }

    /// Removes the segment's files; the open descriptor keeps serving in-flight reads.
    pub fn delete_files(&self) -> LogResult<()> {
        for path in [self.log_path.as_path(), self.index_path.as_path()] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(LogError::io(format!("cannot delete {}", path.display()), e));
                }
            }
        }
        Ok(())
    }
}

fn create_index_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().write(true).create(true).truncate(true).open(path)
}

fn file_len(file: &File, path: &Path) -> LogResult<u64> {
    let len = file
        .metadata()
        .map_err(|e| LogError::io(format!("cannot stat {}", path.display()), e))?
        .len();
    if len > u64::from(u32::MAX) {
        return Err(LogError::Corrupt {
            path: path.display().to_string(),
            reason: format!("segment is {len} bytes, larger than any segment Runnel writes"),
        });
    }
    Ok(len)
}

/// The index entries in `path`, or `None` when the file is missing or invalid.
fn load_index(path: &Path, segment_len: u64) -> LogResult<Option<Vec<IndexEntry>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(index::parse(&bytes, segment_len)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io(format!("cannot read index {}", path.display()), e)),
    }
}

fn corrupt(path: &Path, position: u64, expected_offset: i64, reason: &str, valid_after: Option<u64>) -> LogError {
    let follow = valid_after
        .map(|p| format!("; valid records follow at byte {p}"))
        .unwrap_or_default();
    LogError::Corrupt {
        path: path.display().to_string(),
        reason: format!(
            "bad record frame at byte {position} (where offset {expected_offset} should be): {reason}{follow}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn records(n: usize, from: usize) -> Vec<Record> {
        (from..from + n)
            .map(|i| Record {
                key: Some(Bytes::from(format!("key-{i}"))),
                value: Some(Bytes::from(format!("value-{i}-padding-padding"))),
                timestamp: i as i64,
                headers: vec![],
            })
            .collect()
    }

    fn small_index() -> EmbeddedLogOptions {
        EmbeddedLogOptions {
            index_interval_bytes: 200,
            ..Default::default()
        }
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(file_name(42, "log"), "00000000000000000042.log");
        assert_eq!(parse_log_name("00000000000000000042.log"), Some(42));
        assert_eq!(parse_log_name("42.log"), None);
        assert_eq!(parse_log_name("00000000000000000042.index"), None);
    }

    #[test]
    fn append_builds_index_and_reopen_restores_it() {
        let dir = tempfile::TempDir::new().unwrap();
        let opts = small_index();
        let mut seg = Segment::create(dir.path(), 100).unwrap();
        let mut scratch = Vec::new();
        assert_eq!(seg.append(&records(50, 0), 100, &opts, &mut scratch).unwrap(), 50);
        assert!(!seg.index.is_empty());
        let written = seg.index.clone();
        let size = seg.size();
        drop(seg);
        let (seg, next) = Segment::open_active(dir.path(), 100, &opts).unwrap();
        assert_eq!(next, 150);
        assert_eq!(seg.size(), size);
        assert_eq!(seg.index, written);
        // A view for a later offset starts at an indexed position past the beginning.
        assert!(seg.view(140).position > 0);
        assert_eq!(seg.view(100).position, 0);
    }

    #[test]
    fn lost_index_is_rebuilt_for_sealed_segment() {
        let dir = tempfile::TempDir::new().unwrap();
        let opts = small_index();
        let mut seg = Segment::create(dir.path(), 0).unwrap();
        let mut scratch = Vec::new();
        seg.append(&records(30, 0), 0, &opts, &mut scratch).unwrap();
        let written = seg.index.clone();
        drop(seg);
        fs::write(dir.path().join(file_name(0, "index")), b"bad").unwrap();
        let seg = Segment::open_sealed(dir.path(), 0, &opts).unwrap();
        assert_eq!(seg.index, written);
    }

    #[test]
    fn full_segment_stops_the_batch() {
        let dir = tempfile::TempDir::new().unwrap();
        let opts = EmbeddedLogOptions {
            segment_bytes: 300,
            ..Default::default()
        };
        let mut seg = Segment::create(dir.path(), 0).unwrap();
        let mut scratch = Vec::new();
        let n = seg.append(&records(20, 0), 0, &opts, &mut scratch).unwrap();
        assert!(n > 0 && n < 20, "wrote {n}");
        assert!(seg.size() <= 300);
        assert!(seg.is_full_for(frame::frame_size(&records(1, n)[0]), &opts));
        assert_eq!(seg.append(&records(1, n), n as i64, &opts, &mut scratch).unwrap(), 0);
    }
}
