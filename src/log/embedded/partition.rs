//! One partition: its segments, the next offset, the log start offset, and the lock that
//! orders appends.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::compaction::{self, CompactionPolicy, PassStats, SealedSegment};
use super::fetch::Chunk;
use super::files;
use super::frame::{self, MAX_FRAME};
use super::notify::AppendNotifier;
use super::options::{EmbeddedLogOptions, FsyncPolicy};
use super::segment::{self, Segment, SegmentView};
use crate::log::{LogError, LogResult, Record};

/// File holding the log start offset once records were deleted.
const START_OFFSET_FILE: &str = "log-start-offset";

/// What a read at an offset found.
#[derive(Debug)]
pub enum Fetch {
    /// Frames at or after the offset.
    Data(Chunk),
    /// The offset was deleted; reading should resume at this start offset.
    BelowStart(i64),
    /// Nothing at or after the offset yet.
    AtEnd,
}

/// A partition of a topic.
#[derive(Debug)]
pub struct Partition {
    topic: Arc<str>,
    id: i32,
    dir: PathBuf,
    options: Arc<EmbeddedLogOptions>,
    notifier: Arc<AppendNotifier>,
    state: Mutex<PartitionState>,
}

#[derive(Debug)]
struct PartitionState {
    /// By base offset; the last one is active.
    segments: BTreeMap<i64, Segment>,
    next_offset: i64,
    start_offset: i64,
    last_sync: Instant,
    /// Reused encode buffer, so appends do not allocate.
    scratch: Vec<u8>,
    /// Set when the topic is deleted; the partition then refuses everything.
    deleted: bool,
    /// Bytes appended since the last compaction pass (all of them after open).
    dirty_bytes: u64,
}

impl PartitionState {
    fn active(&mut self) -> LogResult<&mut Segment> {
        self.segments
            .values_mut()
            .next_back()
            .ok_or_else(|| LogError::Invalid("partition has no segment".into()))
    }
}

impl Partition {
    /// Creates an empty partition in `dir`.
    pub fn create(
        dir: PathBuf,
        topic: Arc<str>,
        id: i32,
        options: Arc<EmbeddedLogOptions>,
        notifier: Arc<AppendNotifier>,
    ) -> LogResult<Partition> {
        files::create_dir(&dir)?;
        let segment = Segment::create(&dir, 0)?;
        Ok(Self::with_state(
            dir,
            topic,
            id,
            options,
            notifier,
            BTreeMap::from([(0, segment)]),
            0,
            0,
        ))
    }

    /// Opens an existing partition directory, recovering its last segment.
    pub fn open(
        dir: PathBuf,
        topic: Arc<str>,
        id: i32,
        options: Arc<EmbeddedLogOptions>,
        notifier: Arc<AppendNotifier>,
    ) -> LogResult<Partition> {
        compaction::recover(&dir)?;
        let mut bases = Vec::new();
        let mut indexes = Vec::new();
        for (name, path) in files::list_dir(&dir)? {
            if let Some(base) = segment::parse_log_name(&name) {
                bases.push(base);
            } else if name.ends_with(".index") {
                indexes.push((name, path));
            } else if name.ends_with(".tmp") {
                // A temp file of an interrupted atomic write; the real file is intact.
                let _ = fs::remove_file(&path);
            }
        }
        bases.sort_unstable();
        // An index whose segment is gone (deleted, crash before the index was) is useless.
        for (name, path) in indexes {
            let stem = name.trim_end_matches(".index");
            let has_log = stem.parse::<i64>().is_ok_and(|b| bases.binary_search(&b).is_ok());
            if !has_log {
                let _ = fs::remove_file(path);
            }
        }
        let persisted_start = read_start_offset(&dir)?;

        let mut segments = BTreeMap::new();
        let next_offset = match bases.split_last() {
            None => {
                let base = persisted_start.unwrap_or(0);
                segments.insert(base, Segment::create(&dir, base)?);
                base
            }
            Some((&last, sealed)) => {
                for &base in sealed {
                    segments.insert(base, Segment::open_sealed(&dir, base, &options)?);
                }
                let (active, next) = Segment::open_active(&dir, last, &options)?;
                segments.insert(last, active);
                next
            }
        };
        let first_base = segments.keys().next().copied().unwrap_or(next_offset);
        let start_offset = persisted_start.unwrap_or(first_base).clamp(first_base, next_offset);
        let partition = Self::with_state(dir, topic, id, options, notifier, segments, next_offset, start_offset);
        // Finish a deletion that was interrupted between persisting the start and unlinking.
        partition.drop_segments_below_start(&mut partition.state.lock())?;
        Ok(partition)
    }

    #[allow(clippy::too_many_arguments)]
    fn with_state(
        dir: PathBuf,
        topic: Arc<str>,
        id: i32,
        options: Arc<EmbeddedLogOptions>,
        notifier: Arc<AppendNotifier>,
        segments: BTreeMap<i64, Segment>,
        next_offset: i64,
        start_offset: i64,
    ) -> Partition {
        let dirty_bytes = segments.values().map(Segment::size).sum();
        Partition {
            topic,
            id,
            dir,
            options,
            notifier,
            state: Mutex::new(PartitionState {
                segments,
                next_offset,
                start_offset,
                last_sync: Instant::now(),
                scratch: Vec::new(),
                deleted: false,
                dirty_bytes,
            }),
        }
    }

    /// The topic this partition belongs to.
    pub fn topic(&self) -> &Arc<str> {
        &self.topic
    }

    fn check_live(&self, state: &PartitionState) -> LogResult<()> {
        if state.deleted {
            return Err(LogError::UnknownTopic(self.topic.to_string()));
        }
        Ok(())
    }

    /// Appends records and returns the offset of the first. The bytes are written to the OS
    /// (one write per segment touched) before this returns.
    pub fn append(&self, records: &[Record]) -> LogResult<i64> {
        // Check sizes first so a batch is never half written because of a bad record.
        if let Some((i, size)) = records
            .iter()
            .map(frame::frame_size)
            .enumerate()
            .find(|&(_, size)| size > MAX_FRAME)
        {
            return Err(LogError::Invalid(format!(
                "record {i} of the batch needs {size} bytes, more than the {MAX_FRAME} byte limit"
            )));
        }
        let mut guard = self.state.lock();
        let state = &mut *guard;
        self.check_live(state)?;
        let first = state.next_offset;
        let mut remaining = records;
        while let Some(next) = remaining.first() {
            if state.active()?.is_full_for(frame::frame_size(next), &self.options) {
                self.roll(state)?;
            }
            let offset = state.next_offset;
            let mut scratch = std::mem::take(&mut state.scratch);
            let written = state.active()?.append(remaining, offset, &self.options, &mut scratch);
            state.dirty_bytes += scratch.len() as u64;
            state.scratch = scratch;
            let written = written?;
            state.next_offset += written as i64;
            remaining = &remaining[written..];
        }
        self.sync_per_policy(state)?;
        drop(guard);
        if !records.is_empty() {
            self.notifier.notify();
        }
        Ok(first)
    }

    fn sync_per_policy(&self, state: &mut PartitionState) -> LogResult<()> {
        let due = match self.options.fsync {
            FsyncPolicy::OnFlush => false,
            FsyncPolicy::EveryAppend => true,
            FsyncPolicy::Interval(every) => state.last_sync.elapsed() >= every,
        };
        if due {
            state.active()?.sync()?;
            state.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Seals the active segment and starts a new one at the next offset.
    fn roll(&self, state: &mut PartitionState) -> LogResult<()> {
        let next = state.next_offset;
        let active = state.active()?;
        if self.options.fsync != FsyncPolicy::OnFlush {
            active.sync()?;
        }
        let segment = Segment::create(&self.dir, next)?;
        if let Some(previous) = state.segments.values_mut().next_back() {
            previous.seal();
        }
        state.segments.insert(next, segment);
        Ok(())
    }

    /// The offset the next record will get.
    pub fn end_offset(&self) -> LogResult<i64> {
        let state = self.state.lock();
        self.check_live(&state)?;
        Ok(state.next_offset)
    }

    /// The first offset still readable.
    pub fn start_offset(&self) -> LogResult<i64> {
        let state = self.state.lock();
        self.check_live(&state)?;
        Ok(state.start_offset)
    }

    /// Reads up to about `max_bytes` from `offset`. The file read happens without the lock.
    pub fn fetch(&self, offset: i64, max_bytes: usize) -> LogResult<Fetch> {
        // The segment holding `offset` and those after it: in a compacted log, the rest of a
        // segment may hold nothing at or after `offset`, and the next one is read instead.
        let views: Vec<SegmentView> = {
            let mut state = self.state.lock();
            self.check_live(&state)?;
            if offset < state.start_offset {
                return Ok(Fetch::BelowStart(state.start_offset));
            }
            if offset >= state.next_offset {
                return Ok(Fetch::AtEnd);
            }
            let Some(floor) = state.segments.range(..=offset).next_back().map(|(base, _)| *base) else {
                return Ok(Fetch::BelowStart(state.start_offset));
            };
            state
                .segments
                .range_mut(floor..)
                .map(|(base, segment)| segment.view(offset.max(*base)))
                .collect()
        };
        for view in views {
            if let Some(chunk) = view.read_from(offset, max_bytes)? {
                return Ok(Fetch::Data(chunk));
            }
        }
        Ok(Fetch::AtEnd)
    }

    /// Runs a compaction pass when enough was appended since the last one (`force`: when
    /// anything was), and returns what it did.
    pub fn compact(&self, policy: &CompactionPolicy, now_ms: i64, force: bool) -> LogResult<Option<PassStats>> {
        let (sealed, end, start, dirty) = {
            let mut guard = self.state.lock();
            let state = &mut *guard;
            if state.deleted {
                return Ok(None);
            }
            let total: u64 = state.segments.values().map(Segment::size).sum();
            let due = state.dirty_bytes >= compaction::MIN_DIRTY_BYTES
                && state.dirty_bytes as f64 >= policy.dirty_ratio * total as f64;
            if !(due || (force && state.dirty_bytes > 0)) {
                return Ok(None);
            }
            // Everything appended so far becomes cleanable.
            if state.active()?.size() > 0 {
                self.roll(state)?;
            }
            let end = state.next_offset;
            let sealed: Vec<SealedSegment> = state
                .segments
                .range(..end)
                .map(|(base, segment)| SealedSegment {
                    base: *base,
                    view: segment.view(*base),
                })
                .collect();
            (sealed, end, state.start_offset, std::mem::take(&mut state.dirty_bytes))
        };
        let cleaned = compaction::clean(
            &self.dir,
            &sealed,
            end,
            start,
            policy,
            now_ms,
            self.options.segment_bytes,
            u64::from(self.options.index_interval_bytes),
        );
        drop(sealed);
        let (swap, stats) = match cleaned {
            Ok(Some(done)) => done,
            Ok(None) => return Ok(None),
            Err(e) => {
                compaction::discard_uncommitted(&self.dir)?;
                // The next pass tries again.
                self.state.lock().dirty_bytes += dirty;
                return Err(e);
            }
        };
        {
            let mut guard = self.state.lock();
            let state = &mut *guard;
            if state.deleted {
                return Ok(None);
            }
            compaction::install(&self.dir, &swap, |base| match state.segments.remove(&base) {
                Some(segment) => segment.delete_files(),
                None => Ok(()),
            })?;
            for out in &swap.outputs {
                let segment = Segment::open_sealed(&self.dir, out.base, &self.options)?;
                state.segments.insert(out.base, segment);
            }
        }
        compaction::record_pass(&self.dir, end, now_ms, policy)?;
        Ok(Some(stats))
    }

    /// Moves the start offset to `offset` (persisted) and deletes segments wholly below it.
    pub fn delete_records_before(&self, offset: i64) -> LogResult<()> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        self.check_live(state)?;
        if offset < 0 || offset > state.next_offset {
            return Err(LogError::Invalid(format!(
                "cannot delete records of {}-{} before offset {offset}: it must be between 0 and the end offset {}",
                self.topic, self.id, state.next_offset
            )));
        }
        if offset <= state.start_offset {
            return Ok(());
        }
        let durable = self.options.fsync != FsyncPolicy::OnFlush;
        files::write_atomically(
            &self.dir.join(START_OFFSET_FILE),
            offset.to_string().as_bytes(),
            durable,
        )?;
        state.start_offset = offset;
        // Everything is deleted: start a fresh segment so the old one can go too.
        if offset == state.next_offset && state.active()?.size() > 0 {
            self.roll(state)?;
        }
        self.drop_segments_below_start(state)
    }

    /// Deletes every segment whose records all lie below the start offset (never the active).
    fn drop_segments_below_start(&self, state: &mut PartitionState) -> LogResult<()> {
        loop {
            let mut bases = state.segments.keys();
            let (Some(&first), Some(&second)) = (bases.next(), bases.next()) else {
                return Ok(());
            };
            // The first segment ends where the second begins.
            if second > state.start_offset {
                return Ok(());
            }
            if let Some(segment) = state.segments.remove(&first) {
                segment.delete_files()?;
            }
        }
    }

    /// Fsyncs every segment written since the last sync, and the directory.
    pub fn flush(&self) -> LogResult<()> {
        let mut state = self.state.lock();
        if state.deleted {
            return Ok(());
        }
        for segment in state.segments.values_mut() {
            segment.sync()?;
        }
        state.last_sync = Instant::now();
        files::sync_dir(&self.dir)
    }

    /// Marks the partition deleted; appends and reads in flight finish, later ones fail.
    pub fn mark_deleted(&self) {
        self.state.lock().deleted = true;
    }
}

fn read_start_offset(dir: &Path) -> LogResult<Option<i64>> {
    let path = dir.join(START_OFFSET_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LogError::io(format!("cannot read {}", path.display()), e)),
    };
    match text.trim().parse::<i64>() {
        Ok(offset) if offset >= 0 => Ok(Some(offset)),
        _ => Err(LogError::Corrupt {
            path: path.display().to_string(),
            reason: format!("'{}' is not a log start offset", text.trim()),
        }),
    }
}
