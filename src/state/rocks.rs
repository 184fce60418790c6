//! A RocksDB key-value store, for state larger than memory.
//!
//! One RocksDB instance per store, in `<task dir>/rocksdb/<store>/` — Kafka Streams' layout.
//! One instance per store (rather than one per task with a column family per store) keeps a
//! store's lifecycle its own: wiping a store that has no checkpoint is removing a directory,
//! and stores share nothing (no WAL, since it is off) that column families would let them
//! share.
//!
//! The write-ahead log is off, as in Kafka Streams: the changelog is the source of truth, and
//! [`ChangeLoggingStore`](super::changelog::ChangeLoggingStore) only writes here what its
//! changelog already holds, so whatever a crash loses from the memtable is replayed from the
//! changelog. [`KeyValueStore::flush`] writes the memtable out (an SST file) before the task
//! records a checkpoint, so a checkpoint never claims more than the files on disk hold.
//!
//! RocksDB's `DB` is safe to share between threads: pull queries read it while the task writes.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use rocksdb::{BlockBasedOptions, DB, DBCompressionType, Direction, IteratorMode, Options, ReadOptions, WriteBatch};

use super::{Entry, KeyValueStore, StateError, StateResult};

/// A store backed by its own RocksDB instance.
pub struct RocksStore {
    name: String,
    path: PathBuf,
    db: DB,
    write_options: rocksdb::WriteOptions,
}

impl RocksStore {
    /// Opens (creating if missing) the store `name` in `dir`.
    pub fn open(name: impl Into<String>, dir: &Path) -> StateResult<Self> {
        let name = name.into();
        std::fs::create_dir_all(dir).map_err(|e| StateError::Storage {
            store: name.clone(),
            message: format!("cannot create {}: {e}", dir.display()),
        })?;
        // The default column family by name, so batched lookups can address it.
        let db =
            DB::open_cf(&options(), dir, [rocksdb::DEFAULT_COLUMN_FAMILY_NAME]).map_err(|e| StateError::Storage {
                store: name.clone(),
                message: format!("cannot open RocksDB at {}: {e}", dir.display()),
            })?;
        let mut write_options = rocksdb::WriteOptions::default();
        write_options.disable_wal(true);
        Ok(RocksStore {
            name,
            path: dir.to_path_buf(),
            db,
            write_options,
        })
    }

    /// Removes the store in `dir`, if any: its contents are unknown without a checkpoint, so
    /// it is rebuilt from the changelog instead.
    pub fn wipe(name: &str, dir: &Path) -> StateResult<()> {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::Storage {
                store: name.to_string(),
                message: format!("cannot remove {}: {e}", dir.display()),
            }),
        }
    }

    /// Where the store lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&self, what: &str, e: rocksdb::Error) -> StateError {
        StateError::Storage {
            store: self.name.clone(),
            message: format!("{what}: {e}"),
        }
    }
}

/// One block cache for every store of the process, as Kafka Streams users configure with a
/// shared `Cache` (its default is 50 MiB per store): a task's hot blocks stay in memory
/// whichever store they belong to, and memory stays bounded however many stores there are.
const BLOCK_CACHE_BYTES: usize = 64 << 20;

fn shared_block_cache() -> Option<&'static rocksdb::Cache> {
    static CACHE: std::sync::OnceLock<Option<rocksdb::Cache>> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(|| rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES).ok())
        .as_ref()
}

/// Options tuned like Kafka Streams' defaults: 16 MiB memtables (three of them, so writes
/// continue while one flushes), bloom filters for the point lookups aggregations do per
/// record, no compression (state is read far more often than it is stored, and the CPU is
/// better spent on records).
fn options() -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    table.set_block_size(4096);
    if let Some(cache) = shared_block_cache() {
        table.set_block_cache(cache);
    }
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.set_block_based_table_factory(&table);
    opts.set_write_buffer_size(16 << 20);
    opts.set_max_write_buffer_number(3);
    opts.set_compression_type(DBCompressionType::None);
    // Two background jobs: the machine-wide budget is small, and a store per task adds up.
    opts.set_max_background_jobs(2);
    opts
}

impl KeyValueStore for RocksStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn get(&self, key: &[u8]) -> StateResult<Option<Bytes>> {
        match self.db.get_pinned(key) {
            Ok(v) => Ok(v.map(|v| Bytes::copy_from_slice(&v))),
            Err(e) => Err(self.fail("get", e)),
        }
    }

    fn get_many(&self, keys: &[&[u8]]) -> StateResult<Vec<Option<Bytes>>> {
        let Some(cf) = self.db.cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME) else {
            return keys.iter().map(|k| self.get(k)).collect();
        };
        self.db
            .batched_multi_get_cf(cf, keys, false)
            .into_iter()
            .map(|r| match r {
                Ok(v) => Ok(v.map(|v| Bytes::copy_from_slice(&v))),
                Err(e) => Err(self.fail("get", e)),
            })
            .collect()
    }

    fn put(&self, key: &[u8], value: Option<&[u8]>) -> StateResult<()> {
        let result = match value {
            Some(v) => self.db.put_opt(key, v, &self.write_options),
            None => self.db.delete_opt(key, &self.write_options),
        };
        result.map_err(|e| self.fail("put", e))
    }

    fn write_batch(&self, entries: &mut dyn Iterator<Item = (&[u8], Option<&[u8]>)>) -> StateResult<()> {
        let mut batch = WriteBatch::default();
        for (k, v) in entries {
            match v {
                Some(v) => batch.put(k, v),
                None => batch.delete(k),
            }
        }
        self.db
            .write_opt(batch, &self.write_options)
            .map_err(|e| self.fail("write", e))
    }

    fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> StateResult<Vec<Entry>> {
        if let (Some(a), Some(b)) = (from, to)
            && a >= b
        {
            return Ok(Vec::new());
        }
        let mut read = ReadOptions::default();
        // A scan reads each block once; keeping them would evict the hot point-lookup blocks.
        read.fill_cache(false);
        if let Some(to) = to {
            read.set_iterate_upper_bound(to);
        }
        let mode = match from {
            Some(from) => IteratorMode::From(from, Direction::Forward),
            None => IteratorMode::Start,
        };
        let mut out = Vec::new();
        for item in self.db.iterator_opt(mode, read) {
            let (k, v) = item.map_err(|e| self.fail("range", e))?;
            out.push((Bytes::from(k.into_vec()), Bytes::from(v.into_vec())));
        }
        Ok(out)
    }

    fn approximate_len(&self) -> u64 {
        // RocksDB's estimate counts memtable and SST entries, minus deletions it has seen.
        self.db
            .property_int_value("rocksdb.estimate-num-keys")
            .ok()
            .flatten()
            .unwrap_or(0)
    }

    fn flush(&self) -> StateResult<()> {
        self.db.flush().map_err(|e| self.fail("flush", e))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn keys(entries: Vec<Entry>) -> Vec<Bytes> {
        entries.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn put_get_delete_and_ordered_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let s = RocksStore::open("s", dir.path()).unwrap();
        s.put(b"b", Some(b"2")).unwrap();
        s.put(b"a", Some(b"1")).unwrap();
        s.put(b"c", Some(b"3")).unwrap();
        s.put(b"\xff", Some(b"4")).unwrap();
        assert_eq!(s.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        s.put(b"a", None).unwrap();
        assert_eq!(s.get(b"a").unwrap(), None);
        assert_eq!(
            keys(s.range(Some(b"b"), Some(b"c")).unwrap()),
            vec![Bytes::from_static(b"b")]
        );
        assert_eq!(
            keys(s.range(None, None).unwrap()),
            vec![
                Bytes::from_static(b"b"),
                Bytes::from_static(b"c"),
                Bytes::from_static(b"\xff")
            ],
            "byte order, not string order"
        );
        assert_eq!(keys(s.range(Some(b"bb"), None).unwrap()).len(), 2);
        assert_eq!(s.range(Some(b"c"), Some(b"a")).unwrap(), vec![]);
    }

    #[test]
    fn flushed_contents_survive_reopen_and_wipe_empties() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rocksdb").join("counts");
        {
            let s = RocksStore::open("counts", &path).unwrap();
            let entries: Vec<(Vec<u8>, Option<Vec<u8>>)> = (0..1000u32)
                .map(|i| (i.to_be_bytes().to_vec(), Some(format!("v{i}").into_bytes())))
                .collect();
            s.write_batch(&mut entries.iter().map(|(k, v)| (k.as_slice(), v.as_deref())))
                .unwrap();
            s.flush().unwrap();
        }
        {
            let s = RocksStore::open("counts", &path).unwrap();
            assert_eq!(s.get(&7u32.to_be_bytes()).unwrap().as_deref(), Some(&b"v7"[..]));
            assert_eq!(s.range(None, None).unwrap().len(), 1000);
            let estimate = s.approximate_len();
            assert!((900..=1100).contains(&estimate), "RocksDB's estimate: {estimate}");
        }
        RocksStore::wipe("counts", &path).unwrap();
        RocksStore::wipe("counts", &path).unwrap();
        let s = RocksStore::open("counts", &path).unwrap();
        assert_eq!(s.range(None, None).unwrap(), vec![]);
    }

    #[test]
    fn readers_see_a_consistent_store_while_a_writer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(RocksStore::open("s", dir.path()).unwrap());
        let writer = {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..2000u32 {
                    s.put(&i.to_be_bytes(), Some(b"x")).unwrap();
                }
            })
        };
        let mut last = 0;
        while !writer.is_finished() {
            let n = s.range(None, None).unwrap().len();
            assert!(n >= last, "a later scan never sees fewer keys: {n} < {last}");
            last = n;
        }
        writer.join().unwrap();
        assert_eq!(s.range(None, None).unwrap().len(), 2000);
    }

    #[test]
    fn opening_a_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"not a directory").unwrap();
        assert!(RocksStore::open("s", &file).is_err());
    }
}
