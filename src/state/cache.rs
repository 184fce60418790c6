//! A bounded in-memory copy of a store's committed entries, in front of RocksDB: reading a
//! key the task touched recently costs a hash lookup instead of a RocksDB search (memtables,
//! then index and data blocks of each level), and writing one costs a hash update instead
//! of a memtable insert.
//!
//! [`ChangeLoggingStore`](super::changelog) puts what a commit wrote to the changelog here,
//! marked *dirty* (not yet in RocksDB), and fills it with what reads found in RocksDB (also
//! "absent", so a key seen for the first time is searched for once). Dirty entries reach
//! RocksDB when they are evicted ([`StoreCache::take_spill`]), before a checkpoint, and
//! before a range read ([`StoreCache::dirty_entries`]); until then the cache is the only
//! place with them besides the changelog, which is why it is consulted before RocksDB and
//! why a checkpoint, which claims that RocksDB holds everything up to an offset, writes them
//! first. A crash loses them, as it loses RocksDB's unflushed memtables: the restart replays
//! the changelog from the checkpoint.
//!
//! Eviction is by generation instead of by exact LRU order: entries go into a young
//! generation; when it holds half the budget it becomes the old generation and the previous
//! old one is dropped (its dirty entries go to the spill list first). A hit in the old
//! generation moves the entry back to the young one, so whatever was used during the last
//! two generations stays. That keeps a hit to one or two hash lookups with no list to
//! maintain, and memory within the budget.

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

fn slot_key(slot: &[u8]) -> &[u8] {
    let len = u32::from_le_bytes([slot[1], slot[2], slot[3], slot[4]]) as usize;
    &slot[HEADER..HEADER + len]
}

fn slot_value(slot: &[u8]) -> Option<&[u8]> {
    let len = u32::from_le_bytes([slot[1], slot[2], slot[3], slot[4]]) as usize;
    (slot[0] & PRESENT != 0).then(|| &slot[HEADER + len..])
}

fn is_dirty(slot: &[u8]) -> bool {
    slot[0] & DIRTY != 0
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
    /// Dirty entries in the two generations.
    dirty: usize,
    /// Counts the commits that changed entries, so a reader that searched the store without
    /// holding the cache can tell whether what it found may be older than the cache.
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

    /// Records changes a commit has just written to the changelog; with `dirty`, they are
    /// not in the store yet. A change it cannot hold (a key of 4 GiB or more) goes to
    /// `uncached`, and the caller must write it to the store itself.
    pub fn update<'a>(
        &mut self,
        changes: impl Iterator<Item = (&'a Bytes, &'a Option<Bytes>)>,
        dirty: bool,
        mut uncached: impl FnMut(&'a Bytes, &'a Option<Bytes>),
    ) {
        self.epoch += 1;
        for (key, value) in changes {
            if !self.set(key, value.as_deref(), dirty) {
                uncached(key, value);
            }
        }
    }

    fn set(&mut self, key: &[u8], value: Option<&[u8]>, dirty: bool) -> bool {
        let hash = self.hasher.hash_one(key);
        if let Ok(mut entry) = self.young.table.find_entry(hash, |s| slot_key(s) == key) {
            let slot = entry.get_mut();
            let at = HEADER + key.len();
            let was_dirty = is_dirty(slot);
            if slot.len() - at == value.map_or(0, <[u8]>::len) {
                slot[0] = flags(value, dirty || was_dirty);
                slot[at..].copy_from_slice(value.unwrap_or_default());
                self.dirty += usize::from(dirty && !was_dirty);
                return true;
            }
            let (old, _) = entry.remove();
            self.young.bytes -= cost(&old);
            self.dirty -= usize::from(was_dirty);
            return self.insert(hash, key, value, dirty || was_dirty);
        }
        // A copy in the old generation is stale now.
        let was_dirty = self.old.remove(hash, key).is_some_and(|s| is_dirty(&s));
        self.dirty -= usize::from(was_dirty);
        self.insert(hash, key, value, dirty || was_dirty)
    }

    fn insert(&mut self, hash: u64, key: &[u8], value: Option<&[u8]>, dirty: bool) -> bool {
        let Some(slot) = make_slot(key, value, dirty) else {
            return false;
        };
        self.dirty += usize::from(dirty);
        self.admit(hash, slot);
        true
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
            slot[0] &= !DIRTY;
        }
        self.dirty = 0;
    }

    /// Forgets everything (the store was written behind the cache's back, e.g. restored).
    /// Dirty entries must have been written first.
    pub fn clear(&mut self) {
        self.epoch += 1;
        self.young = Generation::default();
        self.old = Generation::default();
        self.spill.clear();
        self.dirty = 0;
    }

    /// Entries held (both generations; a key may be counted twice).
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
        if self.young.bytes > self.generation_bytes {
            let dropped = std::mem::replace(&mut self.old, std::mem::take(&mut self.young));
            for slot in dropped.table {
                if is_dirty(&slot) {
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
        c.update(
            [(&b("a"), &None), (&b("c"), &Some(b("3")))].into_iter(),
            false,
            |_, _| {},
        );
        assert_eq!(c.get(b"a"), Some(None));
        assert_eq!(c.get(b"c"), Some(Some(b("3"))));
    }

    #[test]
    fn a_fill_from_before_a_commit_is_ignored() {
        let mut c = StoreCache::new(1 << 20);
        let e = c.epoch();
        // A reader searched the store, then a commit wrote "k" before the reader filled.
        c.update([(&b("k"), &Some(b("new")))].into_iter(), false, |_, _| {});
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
        c.update([(&b("k"), &Some(b("2")))].into_iter(), false, |_, _| {});
        assert_eq!(c.get(b"k"), Some(Some(b("2"))));
        c.clear();
        assert!(c.is_empty());
        assert_eq!(c.get(b"k"), None);
    }

    #[test]
    fn dirty_entries_are_spilled_when_evicted_and_listed_until_marked_clean() {
        // Room for three entries per generation: the fourth turns the young one old.
        let mut c = StoreCache::new(2 * 3 * (ENTRY_OVERHEAD + 8));
        let keys: Vec<Bytes> = (0..4).map(|i| b(&format!("d{i}"))).collect();
        let one = Some(b("1"));
        c.update(keys.iter().map(|k| (k, &one)), true, |_, _| panic!("all fit"));
        assert!(c.has_dirty() && !c.has_spill());
        assert_eq!(c.dirty_entries().len(), 4);
        // Four clean entries later the old generation (all dirty) is evicted into the spill
        // list; reads still find its entries there.
        for i in 0..4 {
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
        c.update([(&keys[3], &Some(b("2")))].into_iter(), true, |_, _| {});
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
