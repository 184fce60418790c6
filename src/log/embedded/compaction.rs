//! Log compaction for topics with `cleanup.policy=compact`, as Kafka's log cleaner does it:
//! of the records with the same key only the latest stays, so reading a compacted topic from
//! the start (restoring a store from its changelog, loading a table) reads about one record
//! per key instead of every update.
//!
//! A pass rolls the active segment (so everything appended so far can be cleaned), then
//! rewrites all sealed segments into new ones holding, per key, the record with the highest
//! offset. Offsets never change: the cleaned segments have gaps, which readers skip. Records
//! without a key stay. A tombstone (null value) stays until `delete.retention.ms` after the
//! pass that first cleaned it, so a reader that was behind still sees the delete. The record
//! with the highest offset of the cleaned range always stays, so a reader always reaches the
//! end offset by reading.
//!
//! The swap survives a crash at any point: new segments are written as `<base>.cleaned`
//! (and `<base>.cleaned-index`), fsynced, then a `swap` file naming them and the range they
//! replace is written atomically — the commit point. Then the old segments are deleted and the
//! new ones renamed into place, and `swap` removed. On open, [`recover`] finishes a swap whose
//! `swap` file exists and deletes the `.cleaned` files of one that never reached it.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files;
use super::frame::{self, FrameError};
use super::index::{self, IndexEntry};
use super::segment::{self, SegmentView};
use crate::log::{LogError, LogResult};

/// The file that commits a swap.
const SWAP_FILE: &str = "swap";
/// Per partition: when the records below each offset were first cleaned (tombstone expiry).
const HORIZONS_FILE: &str = "cleaner-horizons";
const CLEANED_EXT: &str = "cleaned";
const CLEANED_INDEX_EXT: &str = "cleaned-index";

/// Kafka's defaults for the topic configs compaction reads.
pub const DEFAULT_DIRTY_RATIO: f64 = 0.5;
/// `delete.retention.ms` default: one day.
pub const DEFAULT_DELETE_RETENTION_MS: i64 = 86_400_000;
/// Below this many uncleaned bytes a partition is not worth a pass.
pub const MIN_DIRTY_BYTES: u64 = 1 << 20;

/// How a topic is compacted, from its configs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionPolicy {
    /// `min.cleanable.dirty.ratio`: clean once uncleaned bytes are this share of the log.
    pub dirty_ratio: f64,
    /// `delete.retention.ms`: how long tombstones outlive the pass that first cleaned them.
    pub delete_retention_ms: i64,
}

impl CompactionPolicy {
    /// The policy of a topic with `configs`, or `None` when it is not compacted.
    pub fn of(configs: &std::collections::BTreeMap<String, String>) -> Option<CompactionPolicy> {
        let policy = configs.get("cleanup.policy")?;
        if !policy.split(',').any(|p| p.trim().eq_ignore_ascii_case("compact")) {
            return None;
        }
        Some(CompactionPolicy {
            dirty_ratio: configs
                .get("min.cleanable.dirty.ratio")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|r| (0.0..=1.0).contains(r))
                .unwrap_or(DEFAULT_DIRTY_RATIO),
            delete_retention_ms: configs
                .get("delete.retention.ms")
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|ms| *ms >= 0)
                .unwrap_or(DEFAULT_DELETE_RETENTION_MS),
        })
    }
}

/// A sealed segment to clean.
pub struct SealedSegment {
    /// Its base offset.
    pub base: i64,
    /// Where to read it.
    pub view: SegmentView,
}

/// A new segment written by a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// Its base offset.
    pub base: i64,
}

/// What a pass wrote and replaces: every segment with a base in `[from, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swap {
    /// The first replaced segment's base.
    pub from: i64,
    /// The base of the first segment kept (the active one when the pass began).
    pub end: i64,
    /// The new segments, by base.
    pub outputs: Vec<Output>,
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Records read.
    pub read: u64,
    /// Records kept.
    pub kept: u64,
    /// Bytes kept.
    pub bytes: u64,
}

/// When the records below each offset were first cleaned, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Horizons(Vec<(i64, i64)>);

impl Horizons {
    /// Reads the partition's horizons (none when the file is missing or unreadable: then
    /// tombstones are kept longer, never dropped early).
    pub fn load(dir: &Path) -> Horizons {
        fs::read(dir.join(HORIZONS_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save(&self, dir: &Path) -> LogResult<()> {
        let json = serde_json::to_vec(self).map_err(|e| LogError::Invalid(format!("cleaner horizons: {e}")))?;
        files::write_atomically(&dir.join(HORIZONS_FILE), &json, false)
    }

    /// When the record at `offset` was first cleaned, if it was.
    fn first_cleaned(&self, offset: i64) -> Option<i64> {
        self.0.iter().find(|(below, _)| offset < *below).map(|(_, at)| *at)
    }

    /// Records that everything below `end` has now been cleaned, at `now_ms`, and forgets
    /// entries that no tombstone decision needs any more.
    fn record(&mut self, end: i64, now_ms: i64, retention_ms: i64) {
        if self.0.last().is_none_or(|(below, _)| *below < end) {
            self.0.push((end, now_ms));
        }
        // Everything below the newest expired entry is expired too.
        if let Some(last_expired) = self.0.iter().rposition(|(_, at)| now_ms - at >= retention_ms) {
            self.0.drain(..last_expired);
        }
    }
}

fn cleaned_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(segment::file_name(base, CLEANED_EXT))
}

fn cleaned_index_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(segment::file_name(base, CLEANED_INDEX_EXT))
}

/// How much of a segment a pass reads at once.
const READ_CHUNK: usize = 4 << 20;

/// Calls `f` with every frame of a sealed segment, read a few MiB at a time: its offset, its
/// bytes, its key and whether its value is null.
fn each_frame(
    view: &SegmentView,
    mut f: impl FnMut(i64, &[u8], Option<&[u8]>, bool) -> LogResult<()>,
) -> LogResult<()> {
    let mut buf: Vec<u8> = Vec::new();
    // The file position of `buf[0]`, and where the next frame starts in `buf`.
    let (mut pos, mut at) = (0u64, 0usize);
    loop {
        let file_at = pos + at as u64;
        if file_at >= view.end {
            return Ok(());
        }
        let bad = |e: FrameError| LogError::Corrupt {
            path: view.path.display().to_string(),
            reason: format!("bad record frame at byte {file_at} while compacting: {e}"),
        };
        match frame::check(&buf, at) {
            Ok(span) => {
                let (key, tombstone) = frame::key_and_tombstone(&buf, span).map_err(bad)?;
                f(span.offset, &buf[span.start..span.end], key, tombstone)?;
                at = span.end;
            }
            Err(FrameError::Incomplete { needed }) => {
                if pos + buf.len() as u64 >= view.end {
                    // The buffer already holds the rest of the segment: the frame is cut off.
                    return Err(bad(FrameError::Incomplete { needed }));
                }
                let want = needed.unwrap_or(0).max(READ_CHUNK).min((view.end - file_at) as usize);
                buf.resize(want, 0);
                view.file
                    .read_exact_at(&mut buf, file_at)
                    .map_err(|e| LogError::io(format!("cannot read {}", view.path.display()), e))?;
                (pos, at) = (file_at, 0);
            }
            Err(e) => return Err(bad(e)),
        }
    }
}

/// A 128-bit hash of a key: the offset map holds these instead of the keys (Kafka's cleaner
/// holds a digest too), so it costs no allocation per record; two keys share one with a
/// probability around n²/2¹²⁹.
fn key_hash(key: &[u8]) -> u128 {
    use std::hash::BuildHasher;
    let a = foldhash::fast::FixedState::with_seed(0x5eed_0001).hash_one(key);
    let b = foldhash::fast::FixedState::with_seed(0x5eed_0002).hash_one(key);
    (u128::from(a) << 64) | u128::from(b)
}

/// One output segment being written.
struct Writer {
    base: i64,
    file: File,
    path: PathBuf,
    /// Bytes of frames, written to `file` in large pieces.
    buf: Vec<u8>,
    /// Bytes already in `file`.
    written: u64,
    index: Vec<IndexEntry>,
    since_entry: u64,
}

/// How much a writer buffers before writing to its file.
const WRITE_CHUNK: usize = 1 << 20;

impl Writer {
    fn create(dir: &Path, base: i64) -> LogResult<Writer> {
        let path = cleaned_path(dir, base);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| LogError::io(format!("cannot create {}", path.display()), e))?;
        Ok(Writer {
            base,
            file,
            path,
            buf: Vec::with_capacity(WRITE_CHUNK),
            written: 0,
            index: Vec::new(),
            since_entry: 0,
        })
    }

    fn size(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    /// Whether a frame at `offset` of `len` bytes still fits (positions and relative offsets
    /// are 32-bit in the index).
    fn fits(&self, offset: i64, len: usize, segment_bytes: u64) -> bool {
        self.size() == 0 || (self.size() + len as u64 <= segment_bytes && offset - self.base <= i64::from(u32::MAX))
    }

    fn write(&mut self, offset: i64, bytes: &[u8], interval: u64) -> LogResult<()> {
        let position = self.size();
        if let Some(entry) = index::entry_for_frame(
            &mut self.since_entry,
            interval,
            (offset - self.base) as u32,
            position as u32,
            bytes.len() as u64,
        ) {
            self.index.push(entry);
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= WRITE_CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> LogResult<()> {
        self.file
            .write_all_at(&self.buf, self.written)
            .map_err(|e| LogError::io(format!("cannot write {}", self.path.display()), e))?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self, dir: &Path) -> LogResult<Output> {
        self.flush()?;
        self.file
            .sync_all()
            .map_err(|e| LogError::io(format!("cannot fsync {}", self.path.display()), e))?;
        let index_path = cleaned_index_path(dir, self.base);
        files::write_atomically(&index_path, &index::encode(&self.index), true)?;
        Ok(Output { base: self.base })
    }
}

/// Cleans `sealed` (all sealed segments, in order, the first at `from`; the active segment
/// begins at `end`) into new segment files and commits them with a `swap` file. Records
/// below `start_offset` are dropped (they are deleted already).
#[allow(clippy::too_many_arguments)]
pub fn clean(
    dir: &Path,
    sealed: &[SealedSegment],
    end: i64,
    start_offset: i64,
    policy: &CompactionPolicy,
    now_ms: i64,
    segment_bytes: u64,
    index_interval: u64,
) -> LogResult<Option<(Swap, PassStats)>> {
    let Some(first) = sealed.first() else {
        return Ok(None);
    };
    // Segments below the last pass's end hold one record per key already (they are its
    // output): a record there only goes when the newer, dirty segments have its key.
    let horizons = Horizons::load(dir);
    let clean_end = horizons.0.last().map_or(i64::MIN, |(end, _)| *end);
    // Pass 1: the latest offset of every key in the dirty segments, and the last offset.
    let mut latest: HashMap<u128, i64, foldhash::fast::FixedState> = HashMap::default();
    let mut last_offset = None;
    for s in sealed.iter().filter(|s| s.base >= clean_end) {
        each_frame(&s.view, |offset, _, key, _| {
            if let Some(key) = key {
                latest.insert(key_hash(key), offset);
            }
            last_offset = Some(offset);
            Ok(())
        })?;
    }
    if last_offset.is_none() {
        // Nothing new since the last pass.
        return Ok(None);
    }
    // Pass 2: copy what stays.
    let mut stats = PassStats::default();
    let mut outputs = Vec::new();
    let mut writer = Writer::create(dir, first.base)?;
    for s in sealed {
        each_frame(&s.view, |offset, bytes, key, tombstone| {
            stats.read += 1;
            let is_last = Some(offset) == last_offset;
            let superseded = key.is_some_and(|k| match latest.get(&key_hash(k)) {
                Some(newest) => *newest != offset,
                None => false,
            });
            let expired = tombstone
                && horizons
                    .first_cleaned(offset)
                    .is_some_and(|at| now_ms - at >= policy.delete_retention_ms);
            if offset < start_offset || (!is_last && (superseded || expired)) {
                return Ok(());
            }
            if !writer.fits(offset, bytes.len(), segment_bytes) {
                let next = std::mem::replace(&mut writer, Writer::create(dir, offset)?);
                outputs.push(next.finish(dir)?);
            }
            writer.write(offset, bytes, index_interval)?;
            stats.kept += 1;
            stats.bytes += bytes.len() as u64;
            Ok(())
        })?;
    }
    outputs.push(writer.finish(dir)?);
    let swap = Swap {
        from: first.base,
        end,
        outputs,
    };
    let json = serde_json::to_vec(&swap).map_err(|e| LogError::Invalid(format!("cleaner swap: {e}")))?;
    files::write_atomically(&dir.join(SWAP_FILE), &json, true)?;
    Ok(Some((swap, stats)))
}

/// Moves a committed swap's segments into place: deletes the segment files it replaces,
/// renames its outputs and removes the `swap` file. `delete` removes one replaced segment's
/// files (the caller's, so open descriptors keep serving reads).
pub fn install(dir: &Path, swap: &Swap, mut delete: impl FnMut(i64) -> LogResult<()>) -> LogResult<()> {
    for (name, _) in files::list_dir(dir)? {
        if let Some(base) = segment::parse_log_name(&name)
            && base >= swap.from
            && base < swap.end
        {
            // After a crash part-way through the renames below, a new segment already has its
            // final name (its `.cleaned` file is gone): it stays.
            let installed = swap.outputs.iter().any(|o| o.base == base) && !cleaned_path(dir, base).exists();
            if !installed {
                delete(base)?;
            }
        }
    }
    for out in &swap.outputs {
        let log = dir.join(segment::file_name(out.base, "log"));
        let index = dir.join(segment::file_name(out.base, "index"));
        let cleaned = cleaned_path(dir, out.base);
        let cleaned_index = cleaned_index_path(dir, out.base);
        // The index first: a log without its index gets the index rebuilt on open.
        if cleaned_index.exists() {
            fs::rename(&cleaned_index, &index)
                .map_err(|e| LogError::io(format!("cannot rename {}", cleaned_index.display()), e))?;
        }
        if cleaned.exists() {
            fs::rename(&cleaned, &log).map_err(|e| LogError::io(format!("cannot rename {}", cleaned.display()), e))?;
        }
    }
    files::sync_dir(dir)?;
    match fs::remove_file(dir.join(SWAP_FILE)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LogError::io(
            format!("cannot remove {}", dir.join(SWAP_FILE).display()),
            e,
        )),
    }
}

/// After a pass is installed: records its horizon for tombstone expiry.
pub fn record_pass(dir: &Path, end: i64, now_ms: i64, policy: &CompactionPolicy) -> LogResult<()> {
    let mut horizons = Horizons::load(dir);
    horizons.record(end, now_ms, policy.delete_retention_ms);
    horizons.save(dir)
}

/// On open, before segments are loaded: finishes a committed swap, or throws away the files
/// of a pass that never committed.
pub fn recover(dir: &Path) -> LogResult<()> {
    let swap_path = dir.join(SWAP_FILE);
    let swap: Option<Swap> = match fs::read(&swap_path) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| LogError::Corrupt {
            path: swap_path.display().to_string(),
            reason: format!("unreadable compaction swap file: {e}"),
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(LogError::io(format!("cannot read {}", swap_path.display()), e)),
    };
    if let Some(swap) = swap {
        install(dir, &swap, |base| {
            for ext in ["log", "index"] {
                let path = dir.join(segment::file_name(base, ext));
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(LogError::io(format!("cannot delete {}", path.display()), e)),
                }
            }
            Ok(())
        })?;
    }
    discard_uncommitted(dir)
}

/// Removes the files of a pass that did not commit.
pub fn discard_uncommitted(dir: &Path) -> LogResult<()> {
    for (name, path) in files::list_dir(dir)? {
        if name.ends_with(&format!(".{CLEANED_EXT}")) || name.ends_with(&format!(".{CLEANED_INDEX_EXT}")) {
            let _ = fs::remove_file(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::options::EmbeddedLogOptions;
    use super::super::segment::Segment;
    use super::*;
    use crate::log::Record;
    use bytes::Bytes;

    fn logs(dir: &Path) -> Vec<i64> {
        let mut bases: Vec<i64> = files::list_dir(dir)
            .unwrap()
            .iter()
            .filter_map(|(name, _)| segment::parse_log_name(name))
            .collect();
        bases.sort();
        bases
    }

    /// Writes `records` as a sealed segment at `base`.
    fn sealed(dir: &Path, base: i64, records: &[Record]) {
        let mut segment = Segment::create(dir, base).unwrap();
        let written = segment
            .append(records, base, &EmbeddedLogOptions::default(), &mut Vec::new())
            .unwrap();
        assert_eq!(written, records.len());
        segment.seal();
    }

    fn keyed(key: &str, value: String) -> Record {
        Record {
            key: Some(Bytes::from(key.to_string())),
            value: Some(Bytes::from(value)),
            timestamp: 0,
            headers: Vec::new(),
        }
    }

    fn offsets(dir: &Path, base: i64, options: &EmbeddedLogOptions) -> Vec<i64> {
        let segment = Segment::open_sealed(dir, base, options).unwrap();
        let mut out = Vec::new();
        each_frame(&segment.view(base), |offset, _, _, _| {
            out.push(offset);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn a_committed_swap_is_finished_on_open_and_an_uncommitted_one_discarded() {
        let tmp = tempfile::TempDir::new().unwrap();
        let dir = tmp.path();
        let options = EmbeddedLogOptions::default();
        // Three sealed segments of four updates each to keys a and b, then the active one.
        let bases = vec![0, 4, 8];
        for base in &bases {
            let records: Vec<Record> = (0..4)
                .map(|i| keyed(if i % 2 == 0 { "a" } else { "b" }, format!("{}", base + i)))
                .collect();
            sealed(dir, *base, &records);
        }
        Segment::create(dir, 12).unwrap();
        let policy = CompactionPolicy {
            dirty_ratio: 0.5,
            delete_retention_ms: 0,
        };
        let pass = || {
            let sealed: Vec<SealedSegment> = bases
                .iter()
                .map(|b| SealedSegment {
                    base: *b,
                    view: Segment::open_sealed(dir, *b, &options).unwrap().view(*b),
                })
                .collect();
            clean(dir, &sealed, 12, 0, &policy, 0, 1 << 20, 4096).unwrap().unwrap()
        };

        // A crash before the swap file: the new files go, the old segments stay.
        pass();
        fs::remove_file(dir.join(SWAP_FILE)).unwrap();
        recover(dir).unwrap();
        assert_eq!(logs(dir), vec![0, 4, 8, 12]);
        assert!(
            files::list_dir(dir)
                .unwrap()
                .iter()
                .all(|(n, _)| !n.contains("cleaned"))
        );
        assert_eq!(offsets(dir, 4, &options), vec![4, 5, 6, 7]);

        // A crash after it: opening finishes the swap.
        let (swap, stats) = pass();
        assert_eq!((stats.read, stats.kept), (12, 2));
        assert_eq!(swap.outputs, vec![Output { base: 0 }]);
        recover(dir).unwrap();
        assert_eq!(logs(dir), vec![0, 12]);
        assert!(!dir.join(SWAP_FILE).exists());
        assert_eq!(offsets(dir, 0, &options), vec![10, 11]);
    }

    #[test]
    fn frames_are_read_across_chunks_and_bigger_than_a_chunk() {
        let tmp = tempfile::TempDir::new().unwrap();
        let dir = tmp.path();
        let options = EmbeddedLogOptions::default();
        let record = |len: usize| Record {
            value: Some(Bytes::from(vec![7u8; len])),
            ..keyed("k", String::new())
        };
        // 60 records of 100 kB (frames straddle the 4 MiB read boundary), one of 5 MB, one more.
        let mut records: Vec<Record> = (0..60).map(|_| record(100_000)).collect();
        records.push(record(5_000_000));
        records.push(record(10));
        sealed(dir, 0, &records);
        assert_eq!(offsets(dir, 0, &options), (0..62).collect::<Vec<i64>>());
    }

    #[test]
    fn a_swap_interrupted_between_renames_is_finished_without_losing_the_new_segment() {
        let tmp = tempfile::TempDir::new().unwrap();
        let dir = tmp.path();
        let options = EmbeddedLogOptions::default();
        for base in [0, 2] {
            sealed(
                dir,
                base,
                &[keyed("k", format!("{base}")), keyed("k", format!("{}", base + 1))],
            );
        }
        Segment::create(dir, 4).unwrap();
        let sealed: Vec<SealedSegment> = [0, 2]
            .iter()
            .map(|b| SealedSegment {
                base: *b,
                view: Segment::open_sealed(dir, *b, &options).unwrap().view(*b),
            })
            .collect();
        let policy = CompactionPolicy {
            dirty_ratio: 0.5,
            delete_retention_ms: DEFAULT_DELETE_RETENTION_MS,
        };
        let (swap, _) = clean(dir, &sealed, 4, 0, &policy, 0, 1 << 20, 4096).unwrap().unwrap();
        drop(sealed);
        // The crash: old segments deleted and the new one renamed, but `swap` still there.
        for base in [0, 2] {
            fs::remove_file(dir.join(segment::file_name(base, "log"))).unwrap();
            fs::remove_file(dir.join(segment::file_name(base, "index"))).unwrap();
        }
        assert_eq!(swap.outputs, vec![Output { base: 0 }]);
        fs::rename(cleaned_path(dir, 0), dir.join(segment::file_name(0, "log"))).unwrap();
        recover(dir).unwrap();
        assert_eq!(logs(dir), vec![0, 4]);
        assert_eq!(offsets(dir, 0, &options), vec![3]);
    }

    #[test]
    fn policy_reads_kafka_configs() {
        let mut c = std::collections::BTreeMap::new();
        assert_eq!(CompactionPolicy::of(&c), None);
        c.insert("cleanup.policy".to_string(), "delete".to_string());
        assert_eq!(CompactionPolicy::of(&c), None);
        c.insert("cleanup.policy".to_string(), "compact,delete".to_string());
        c.insert("min.cleanable.dirty.ratio".to_string(), "0.1".to_string());
        c.insert("delete.retention.ms".to_string(), "5".to_string());
        assert_eq!(
            CompactionPolicy::of(&c),
            Some(CompactionPolicy {
                dirty_ratio: 0.1,
                delete_retention_ms: 5
            })
        );
    }

    #[test]
    fn horizons_date_offsets_and_forget_expired_ones() {
        let mut h = Horizons::default();
        h.record(100, 1_000, 500);
        h.record(200, 1_200, 500);
        assert_eq!(h.first_cleaned(50), Some(1_000));
        assert_eq!(h.first_cleaned(150), Some(1_200));
        assert_eq!(h.first_cleaned(250), None);
        // At 1,700 both are expired: only the newest expired one is needed.
        h.record(300, 1_700, 500);
        assert_eq!(h.0, vec![(200, 1_200), (300, 1_700)]);
        assert_eq!(h.first_cleaned(50), Some(1_200));
    }
}
