//! A bounded in-memory copy of a store's entries, in front of RocksDB: reading a key the
//! task touched recently costs a hash lookup instead of a RocksDB search (memtables, then
//! index and data blocks of each level), and writing one costs a hash update instead of a
//! memtable insert.
//!
//! An entry is in one of four states. *Unlogged*: the task changed it since the last commit,
//! so the changelog does not have it yet ([`StoreCache::put`]); such entries are never
//! evicted, and a commit writes them to the changelog ([`StoreCache::unlogged_changes`]) and
//! then marks them logged ([`StoreCache::mark_logged`]). *Dirty*: in the changelog, not yet
//! in RocksDB. *Clean*: RocksDB has it, e.g. what a read found there ([`StoreCache::fill`],
//! "absent" included, so a key seen for the first time is searched for once). Dirty entries
//! reach RocksDB when they are evicted ([`StoreCache::take_spill`]), before a checkpoint, and
//! before a range read ([`StoreCache::dirty_entries`]). Until then the cache is the only
//! place with them besides the changelog, which is why it is consulted before RocksDB and
//! why a checkpoint, which claims that RocksDB holds everything up to an offset, writes them
//! first. A crash loses them, as it loses RocksDB's unflushed memtables: the restart replays
//! the changelog from the checkpoint. Unlogged entries never reach RocksDB: RocksDB only
//! holds what the changelog holds (see [`super::changelog`]).
//!
//! Holding a task's uncommitted changes here, rather than in a map of their own, makes an
//! aggregation's read and write of one key two lookups of the same entry (the second one in
//! the processor's cache), as in Kafka Streams' caching store.
//!
//! Eviction is by generation instead of by exact LRU order: entries go into a young
//! generation; when it holds half the budget plus what all unlogged entries cost, it becomes
//! the old generation and the previous old one is dropped (its dirty entries go to the spill
//! list first, its unlogged ones move to the young generation). A hit in the old generation
//! moves the entry back to the young one, so whatever was used during the last two
//! generations stays. That keeps a hit to one or two hash lookups with no list to maintain,
//! and memory within the budget plus about twice what the task changed since its last
//! commit.
//!
//! A change to an entry that is dirty replaces a committed value the store does not have
//! yet; it is not written to the store first (that would be a RocksDB write per update), so
//! until the next commit logs the new value, the store is behind the last commit and a
//! checkpoint must not claim it ([`StoreCache::behind_last_commit`]).

use std::hash::BuildHasher;

use bytes::Bytes;
use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// What an entry costs besides its key and value bytes: its hash table slot and control
/// byte, its header, and allocator rounding.
pub const ENTRY_OVERHEAD: usize = 40;

/// An entry is one allocation: flags, the key's length (4 bytes, little-endian), the key,
/// then the value. One allocation instead of four (two `Bytes` and their shared headers)
/// keeps a million entries near 100 MB, and lets an update of a value of the same length
/// (most aggregation states) overwrite it in place.
type Slot = Box<[u8]>;

const HEADER: usize = 5;
/// Flag: the key has a value (else the store does not have the key).
const PRESENT: u8 = 1;
/// Flag: RocksDB does not have this yet.
const DIRTY: u8 = 2;
/// Flag: the changelog does not have this yet (with [`DIRTY`]).
const UNLOGGED: u8 = 4;

fn slot_key(slot: &[u8]) -> &[u8] {
    let len = u32::from_le_bytes([slot[1], slot[2], slot[3], slot[4]]) as usize;
    &slot[HEADER..HEADER + len]
}

fn slot_value(slot: &[u8]) -> Option<&[u8]> {
    let len = u32::from_le_bytes([slot[1], slot[2], slot[3], slot[4]]) as usize;
    (slot[0] & PRESENT != 0).then(|| &slot[HEADER + len..])
}

/// Whether RocksDB lacks the entry and may be given it (it is in the changelog).
fn is_dirty(slot: &[u8]) -> bool {
    slot[0] & (DIRTY | UNLOGGED) == DIRTY
}

fn is_unlogged(slot: &[u8]) -> bool {
    slot[0] & UNLOGGED != 0
}

fn flags(value: Option<&[u8]>, dirty: bool) -> u8 {
    (if value.is_some() { PRESENT } else { 0 }) | (if dirty { DIRTY } else { 0 })
}

fn make_slot(key: &[u8], value: Option<&[u8]>, dirty: bool) -> Option<Slot> {
    let len = u32::try_from(key.len()).ok()?;
    let mut slot = Vec::with_capacity(HEADER + key.len() + value.map_or(0, <[u8]>::len));
    slot.push(flags(value, dirty));
    slot.extend_from_slice(&len.to_le_bytes());
    slot.extend_from_slice(key);
    slot.extend_from_slice(value.unwrap_or_default());
    Some(slot.into_boxed_slice())
}

fn cost(slot: &[u8]) -> usize {
    slot.len() + ENTRY_OVERHEAD
}

#[derive(Default)]
struct Generation {
    table: HashTable<Slot>,
    bytes: usize,
}

impl Generation {
    fn find(&self, hash: u64, key: &[u8]) -> Option<&Slot> {
        self.table.find(hash, |s| slot_key(s) == key)
    }

    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Slot> {
        let slot = self.table.find_entry(hash, |s| slot_key(s) == key).ok()?.remove().0;
        self.bytes -= cost(&slot);
        Some(slot)
    }
}

/// See the module documentation.
pub struct StoreCache {
    hasher: FixedState,
    /// Bytes a generation may hold (half the budget).
    generation_bytes: usize,
    young: Generation,
    old: Generation,
    /// Dirty entries evicted and not yet written to the store.
    spill: Vec<Slot>,
    /// Dirty (logged) entries in the two generations.
    dirty: usize,
    /// The keys of the unlogged entries, each once.
    unlogged: Vec<Box<[u8]>>,
    /// What the unlogged entries cost.
    unlogged_bytes: usize,
    /// Whether an unlogged entry replaced a dirty one: until the next commit logs it, the
    /// store lacks a committed value that nothing in memory holds any more, so no
    /// checkpoint may claim the last commit (see [`StoreCache::behind_last_commit`]).
    shadows_dirty: bool,
    /// Counts the changes to entries, so a reader that searched the store without holding
    /// the cache can tell whether what it found may be older than the cache.
    epoch: u64,
}

impl StoreCache {
    /// A cache of at most `budget` bytes (estimated, see [`ENTRY_OVERHEAD`]).
    pub fn new(budget: usize) -> Self {
        StoreCache {
            hasher: FixedState::default(),
            generation_bytes: budget / 2,
            young: Generation::default(),
            old: Generation::default(),
            spill: Vec::new(),
            dirty: 0,
            unlogged: Vec::new(),
            unlogged_bytes: 0,
            shadows_dirty: false,
            epoch: 0,
        }
    }

    /// The cached state of `key`: `Some(Some(value))`, `Some(None)` when the store is known
    /// not to have it, `None` when the cache does not know.
    pub fn get(&mut self, key: &[u8]) -> Option<Option<Bytes>> {
        let hash = self.hasher.hash_one(key);
        if let Some(slot) = self.young.find(hash, key) {
            return Some(slot_value(slot).map(Bytes::copy_from_slice));
        }
        if let Some(slot) = self.old.remove(hash, key) {
            let value = slot_value(&slot).map(Bytes::copy_from_slice);
            self.admit(hash, slot);
            return Some(value);
        }
        // Only between an eviction and the write of what it evicted.
        let slot = self.spill.iter().rev().find(|s| slot_key(s) == key)?;
        Some(slot_value(slot).map(Bytes::copy_from_slice))
    }

    /// The epoch to pass to [`StoreCache::fill`] after reading the store without the cache.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Records what a read found in the store, unless a commit changed the cache since
    /// `epoch` (the read may then have seen the store before that commit wrote it).
    pub fn fill(&mut self, epoch: u64, key: &[u8], value: Option<&[u8]>) {
        let hash = self.hasher.hash_one(key);
        if epoch == self.epoch
            && self.young.find(hash, key).is_none()
            && self.old.find(hash, key).is_none()
            && let Some(slot) = make_slot(key, value, false)
        {
            self.admit(hash, slot);
        }
    }

    /// Records a change the task made and the changelog does not have yet: readers see it
    /// at once, and it stays, never evicted, until a commit has written it to the changelog
    /// ([`StoreCache::mark_logged`]). Returns false for a key of 4 GiB or more, which the
    /// cache cannot hold (nothing changes then).
    pub fn put(&mut self, key: &[u8], value: Option<&[u8]>) -> bool {
        if u32::try_from(key.len()).is_err() {
            return false;
        }
        self.epoch += 1;
        let hash = self.hasher.hash_one(key);
        let mut was_unlogged = false;
        if let Ok(mut entry) = self.young.table.find_entry(hash, |s| slot_key(s) == key) {
            let slot = entry.get_mut();
            let at = HEADER + key.len();
            if slot.len() - at == value.map_or(0, <[u8]>::len) {
                // Most aggregation states keep their length: overwrite in place.
                let before = slot[0];
                slot[0] = flags(value, true) | UNLOGGED;
                slot[at..].copy_from_slice(value.unwrap_or_default());
                let cost = cost(slot);
                self.forget(before, cost);
                self.note_unlogged(key, before & UNLOGGED != 0, cost);
                return true;
            }
            let (old, _) = entry.remove();
            self.young.bytes -= cost(&old);
            was_unlogged = is_unlogged(&old);
            self.forget(old[0], cost(&old));
        } else if let Some(old) = self.old.remove(hash, key) {
            was_unlogged = is_unlogged(&old);
            self.forget(old[0], cost(&old));
        }
        let Some(mut slot) = make_slot(key, value, true) else {
            return false;
        };
        slot[0] |= UNLOGGED;
        self.note_unlogged(key, was_unlogged, cost(&slot));
        self.admit(hash, slot);
        true
    }

    /// Takes an entry with flags `flags` and cost `cost`, about to be replaced, out of the
    /// counts.
    fn forget(&mut self, flags: u8, cost: usize) {
        if flags & UNLOGGED != 0 {
            self.unlogged_bytes -= cost;
        } else if flags & DIRTY != 0 {
            self.dirty -= 1;
            self.shadows_dirty = true;
        }
    }

    /// Whether the store lacks a committed change that the cache no longer holds either
    /// (an entry changed again before its committed value reached the store): a checkpoint
    /// written now would claim more than the store has. False again once the next commit
    /// has logged the newer values.
    pub fn behind_last_commit(&self) -> bool {
        self.shadows_dirty
    }

    /// Counts an unlogged entry of `key` costing `cost`; `listed`: whether the key already
    /// had one (and so is in the list).
    fn note_unlogged(&mut self, key: &[u8], listed: bool, cost: usize) {
        self.unlogged_bytes += cost;
        if !listed {
            self.unlogged.push(key.into());
        }
    }

    /// The unlogged entries: what the next commit writes to the changelog, each key once,
    /// `None` for a deletion.
    pub fn unlogged_changes(&self) -> Vec<(&[u8], Option<&[u8]>)> {
        self.unlogged
            .iter()
            .filter_map(|key| {
                let hash = self.hasher.hash_one(key);
                let slot = self.young.find(hash, key).or_else(|| self.old.find(hash, key))?;
                Some((slot_key(slot), slot_value(slot)))
            })
            .collect()
    }

    /// How many entries are unlogged.
    pub fn unlogged_len(&self) -> usize {
        self.unlogged.len()
    }

    /// Records that the changelog now has every unlogged entry (as
    /// [`StoreCache::unlogged_changes`] listed them: the task did not change any since):
    /// they are dirty now, free to be evicted to the store.
    pub fn mark_logged(&mut self) {
        self.epoch += 1;
        self.shadows_dirty = false;
        for key in std::mem::take(&mut self.unlogged) {
            let hash = self.hasher.hash_one(&key);
            let slot = match self.young.table.find_mut(hash, |s| slot_key(s) == &key[..]) {
                Some(slot) => slot,
                None => match self.old.table.find_mut(hash, |s| slot_key(s) == &key[..]) {
                    Some(slot) => slot,
                    None => continue,
                },
            };
            if slot[0] & UNLOGGED != 0 {
                slot[0] &= !UNLOGGED;
                self.unlogged_bytes -= cost(slot);
                self.dirty += 1;
            }
        }
    }

    /// Dirty entries evicted and not yet written to the store, in key order (of two of one
    /// key, the newer last). [`StoreCache::clear_spill`] once they are written.
    pub fn spilled(&self) -> Vec<(&[u8], Option<&[u8]>)> {
        let mut out: Vec<(&[u8], Option<&[u8]>)> = self.spill.iter().map(|s| (slot_key(s), slot_value(s))).collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// Whether evicted dirty entries wait to be written.
    pub fn has_spill(&self) -> bool {
        !self.spill.is_empty()
    }

    /// Records that what [`StoreCache::spilled`] returned is in the store now.
    pub fn clear_spill(&mut self) {
        self.spill.clear();
    }

    /// Whether some entry is not in the store yet.
    pub fn has_dirty(&self) -> bool {
        self.dirty > 0 || !self.spill.is_empty()
    }

    /// Every entry not in the store yet, in key order, spilled ones included.
    pub fn dirty_entries(&self) -> Vec<(&[u8], Option<&[u8]>)> {
        let mut out: Vec<(&[u8], Option<&[u8]>)> = Vec::with_capacity(self.dirty + self.spill.len());
        // Spilled first: a key both spilled and cached again has its newer value in a
        // generation, and the stable sort keeps it after the spilled one.
        for slot in self
            .spill
            .iter()
            .chain(self.old.table.iter())
            .chain(self.young.table.iter())
        {
            if is_dirty(slot) {
                out.push((slot_key(slot), slot_value(slot)));
            }
        }
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// Records that every entry [`StoreCache::dirty_entries`] returned is in the store now.
    pub fn mark_clean(&mut self) {
        self.spill.clear();
        for slot in self.old.table.iter_mut().chain(self.young.table.iter_mut()) {
            if !is_unlogged(slot) {
                slot[0] &= !DIRTY;
            }
        }
        self.dirty = 0;
    }

    /// Forgets everything (the store was written behind the cache's back, e.g. restored).
    /// Dirty entries must have been written first, and unlogged ones are lost.
    pub fn clear(&mut self) {
        self.epoch += 1;
        self.young = Generation::default();
        self.old = Generation::default();
        self.spill.clear();
        self.dirty = 0;
        self.unlogged.clear();
        self.unlogged_bytes = 0;
        self.shadows_dirty = false;
    }

    /// Entries held (both generations).
    pub fn len(&self) -> usize {
        self.young.table.len() + self.old.table.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn admit(&mut self, hash: u64, slot: Slot) {
        self.young.bytes += cost(&slot);
        let hasher = self.hasher.clone();
        self.young
            .table
            .insert_unique(hash, slot, |s| hasher.hash_one(slot_key(s)));
        // Unlogged entries are not evicted, so they do not count towards turning over (else
        // a commit interval's worth of changes larger than a generation would turn it over
        // at every admission).
        if self.young.bytes > self.generation_bytes + self.unlogged_bytes {
            let dropped = std::mem::replace(&mut self.old, std::mem::take(&mut self.young));
            for slot in dropped.table {
                if is_unlogged(&slot) {
                    self.young.bytes += cost(&slot);
                    let hash = hasher.hash_one(slot_key(&slot));
                    self.young
                        .table
                        .insert_unique(hash, slot, |s| hasher.hash_one(slot_key(s)));
                } else if is_dirty(&slot) {
                    self.dirty -= 1;
                    self.spill.push(slot);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn knows_values_and_absences_it_was_told() {
        let mut c = StoreCache::new(1 << 20);
        assert_eq!(c.get(b"a"), None);
        let e = c.epoch();
        c.fill(e, b"a", Some(b"1"));
        c.fill(e, b"b", None);
        assert_eq!(c.get(b"a"), Some(Some(b("1"))));
        assert_eq!(c.get(b"b"), Some(None));
        assert!(c.put(b"a", None) && c.put(b"c", Some(b"3")));
        assert_eq!(c.get(b"a"), Some(None));
        assert_eq!(c.get(b"c"), Some(Some(b("3"))));
    }

    #[test]
    fn a_fill_from_before_a_commit_is_ignored() {
        let mut c = StoreCache::new(1 << 20);
        let e = c.epoch();
        // A reader searched the store, then a commit wrote "k" before the reader filled.
        c.put(b"k", Some(b"new"));
        c.mark_logged();
        c.fill(e, b"k", Some(b"old"));
        c.fill(e, b"other", Some(b"x"));
        assert_eq!(c.get(b"k"), Some(Some(b("new"))));
        assert_eq!(c.get(b"other"), None);
    }

    #[test]
    fn stays_within_its_budget_and_keeps_what_is_read() {
        // Room for ~10 entries per generation.
        let mut c = StoreCache::new(2 * 10 * (ENTRY_OVERHEAD + 12));
        c.fill(c.epoch(), b"hot", Some(b"v"));
        for i in 0..1000 {
            let k = format!("k{i:05}");
            c.fill(c.epoch(), k.as_bytes(), Some(b"v"));
            // Read every few inserts: it keeps moving back to the young generation.
            if i % 5 == 0 {
                assert_eq!(c.get(b"hot"), Some(Some(b("v"))), "after {i} inserts");
            }
        }
        assert!(c.len() <= 22, "{} entries", c.len());
        assert_eq!(c.get(b"k00000"), None);
        assert_eq!(c.get(b"k00999"), Some(Some(b("v"))));
    }

    #[test]
    fn an_update_replaces_a_stale_old_generation_copy() {
        let mut c = StoreCache::new(2 * 3 * (ENTRY_OVERHEAD + 12));
        c.fill(c.epoch(), b"k", Some(b"1"));
        for i in 0..3 {
            c.fill(c.epoch(), format!("x{i}").as_bytes(), None);
        }
        // "k" is in the old generation now.
        c.put(b"k", Some(b"2"));
        assert_eq!(c.get(b"k"), Some(Some(b("2"))));
        c.clear();
        assert!(c.is_empty());
        assert_eq!(c.get(b"k"), None);
    }

    /// Changes not yet in the changelog are never evicted or given to the store, and are
    /// listed (each key once, with its latest value) until marked logged.
    #[test]
    fn unlogged_entries_stay_until_logged_and_never_reach_the_store() {
        // Room for three entries per generation.
        let mut c = StoreCache::new(2 * 3 * (ENTRY_OVERHEAD + 8));
        for i in 0..5 {
            assert!(c.put(format!("u{i}").as_bytes(), Some(b"1")));
        }
        // Same length: overwritten in place; another length: replaced; both still listed once.
        c.put(b"u0", Some(b"2"));
        c.put(b"u1", Some(b"22"));
        c.put(b"u2", None);
        for i in 0..20 {
            c.fill(c.epoch(), format!("c{i:02}").as_bytes(), None);
        }
        let listed = |c: &StoreCache| -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
            let mut out: Vec<(Vec<u8>, Option<Vec<u8>>)> = c
                .unlogged_changes()
                .iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect();
            out.sort();
            out
        };
        assert_eq!(
            listed(&c),
            vec![
                (b"u0".to_vec(), Some(b"2".to_vec())),
                (b"u1".to_vec(), Some(b"22".to_vec())),
                (b"u2".to_vec(), None),
                (b"u3".to_vec(), Some(b"1".to_vec())),
                (b"u4".to_vec(), Some(b"1".to_vec())),
            ]
        );
        assert_eq!(c.unlogged_len(), 5);
        assert!(!c.has_dirty() && c.dirty_entries().is_empty() && !c.has_spill());
        for i in 0..5 {
            assert!(c.get(format!("u{i}").as_bytes()).is_some(), "u{i} was evicted");
        }
        // Filling evicted clean entries only: the cache keeps its budget besides them.
        assert!(c.len() <= 5 + 2 * 4, "{} entries", c.len());
        c.mark_clean();
        assert_eq!(c.unlogged_len(), 5, "marking clean leaves unlogged entries alone");
        c.mark_logged();
        assert!(c.unlogged_changes().is_empty());
        assert_eq!(c.dirty_entries().len(), 5);
        // Logged, they are evicted like any dirty entry: to the spill list.
        for i in 0..20 {
            c.fill(c.epoch(), format!("e{i:02}").as_bytes(), None);
        }
        assert_eq!(c.spilled().len(), 5);
    }

    #[test]
    fn dirty_entries_are_spilled_when_evicted_and_listed_until_marked_clean() {
        // Room for three entries per generation: the fourth turns the young one old.
        let mut c = StoreCache::new(2 * 3 * (ENTRY_OVERHEAD + 8));
        let keys: Vec<Bytes> = (0..4).map(|i| b(&format!("d{i}"))).collect();
        for k in &keys {
            assert!(c.put(k, Some(b"1")));
        }
        c.mark_logged();
        assert!(c.has_dirty() && !c.has_spill());
        assert_eq!(c.dirty_entries().len(), 4);
        // The first clean entry turns the young generation (the four, logged now) old; four
        // more turn it over again, and the four are evicted into the spill list; reads
        // still find them there.
        for i in 0..5 {
            c.fill(c.epoch(), format!("c{i}").as_bytes(), None);
        }
        assert!(c.has_spill());
        let spilled: Vec<Vec<u8>> = c.spilled().iter().map(|(k, _)| k.to_vec()).collect();
        assert_eq!(
            spilled,
            vec![b"d0".to_vec(), b"d1".to_vec(), b"d2".to_vec(), b"d3".to_vec()]
        );
        assert_eq!(c.get(b"d1"), Some(Some(b("1"))));
        c.clear_spill();
        assert!(!c.has_dirty());
        // A newer value stays dirty; a clean fill never overwrites it.
        c.put(&keys[3], Some(b"2"));
        c.mark_logged();
        c.fill(c.epoch(), b"d3", Some(b"stale"));
        assert_eq!(c.get(b"d3"), Some(Some(b("2"))));
        let dirty: Vec<(Vec<u8>, Option<Vec<u8>>)> = c
            .dirty_entries()
            .iter()
            .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(dirty, vec![(b"d3".to_vec(), Some(b"2".to_vec()))]);
        c.mark_clean();
        assert!(!c.has_dirty());
        assert!(c.dirty_entries().is_empty());
    }
}
