//! A bounded in-memory copy of the committed entries of a store, so that reading a key the
//! task touched recently costs a hash lookup instead of a RocksDB search (memtables, then
//! index and data blocks of each level).
//!
//! It holds what the store holds, never more: [`ChangeLoggingStore`](super::changelog)
//! updates it when a commit writes the store, and fills it with what reads found. Entries
//! may say a key is absent, so a key seen for the first time is searched for once.
//!
//! Eviction is by generation instead of by exact LRU order: entries go into a young
//! generation; when it holds half the budget it becomes the old generation and the previous
//! old one is dropped. A hit in the old generation moves the entry back to the young one, so
//! whatever was read during the last two generations stays. That keeps a hit to one or two
//! hash lookups with no list to maintain, and memory within the budget.

use std::hash::BuildHasher;

use bytes::Bytes;
use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// What an entry costs besides its key and value bytes: its hash table slot and control
/// byte, its header, and allocator rounding.
pub const ENTRY_OVERHEAD: usize = 40;

/// An entry is one allocation: a presence flag, the key's length (4 bytes, little-endian),
/// the key, then the value. One allocation instead of four (two `Bytes` and their shared
/// headers) keeps a million entries near 100 MB, and lets an update of a value of the same
/// length (most aggregation states) overwrite it in place.
type Slot = Box<[u8]>;

const HEADER: usize = 5;

fn slot_key(slot: &[u8]) -> &[u8] {
    let len = u32::from_le_bytes([slot[1], slot[2], slot[3], slot[4]]) as usize;
    &slot[HEADER..HEADER + len]
}

fn slot_value(slot: &[u8]) -> Option<&[u8]> {
    let len = u32::from_le_bytes([slot[1], slot[2], slot[3], slot[4]]) as usize;
    (slot[0] == 1).then(|| &slot[HEADER + len..])
}

fn make_slot(key: &[u8], value: Option<&[u8]>) -> Option<Slot> {
    let len = u32::try_from(key.len()).ok()?;
    let mut slot = Vec::with_capacity(HEADER + key.len() + value.map_or(0, <[u8]>::len));
    slot.push(u8::from(value.is_some()));
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
}

/// See the module documentation.
pub struct StoreCache {
    hasher: FixedState,
    /// Bytes a generation may hold (half the budget).
    generation_bytes: usize,
    young: Generation,
    old: Generation,
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
        let slot = self.old.table.find_entry(hash, |s| slot_key(s) == key).ok()?.remove().0;
        let value = slot_value(&slot).map(Bytes::copy_from_slice);
        self.admit(hash, slot);
        Some(value)
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
            && let Some(slot) = make_slot(key, value)
        {
            self.admit(hash, slot);
        }
    }

    /// Records changes a commit has just written to the store.
    pub fn update<'a>(&mut self, changes: impl Iterator<Item = (&'a Bytes, &'a Option<Bytes>)>) {
        self.epoch += 1;
        for (key, value) in changes {
            self.set(key, value.as_deref());
        }
    }

    fn set(&mut self, key: &[u8], value: Option<&[u8]>) {
        let hash = self.hasher.hash_one(key);
        // An old-generation copy is now stale; lookups reach the young one first, and the
        // stale one goes when its generation does.
        if let Ok(mut entry) = self.young.table.find_entry(hash, |s| slot_key(s) == key) {
            let slot = entry.get_mut();
            let at = HEADER + key.len();
            let new_len = value.map_or(0, <[u8]>::len);
            if slot.len() - at == new_len {
                slot[0] = u8::from(value.is_some());
                slot[at..].copy_from_slice(value.unwrap_or_default());
                return;
            }
            let (old, _) = entry.remove();
            self.young.bytes -= cost(&old);
        }
        match make_slot(key, value) {
            Some(slot) => self.admit(hash, slot),
            // A key too long to cache must not leave a stale copy in the old generation.
            None => {
                if let Ok(entry) = self.old.table.find_entry(hash, |s| slot_key(s) == key) {
                    entry.remove();
                }
            }
        }
    }

    /// Forgets everything (the store was written behind the cache's back, e.g. restored).
    pub fn clear(&mut self) {
        self.epoch += 1;
        self.young = Generation::default();
        self.old = Generation::default();
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
            self.old = std::mem::take(&mut self.young);
            self.old.bytes = 0;
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
        c.update([(&b("a"), &None), (&b("c"), &Some(b("3")))].into_iter());
        assert_eq!(c.get(b"a"), Some(None));
        assert_eq!(c.get(b"c"), Some(Some(b("3"))));
    }

    #[test]
    fn a_fill_from_before_a_commit_is_ignored() {
        let mut c = StoreCache::new(1 << 20);
        let e = c.epoch();
        // A reader searched the store, then a commit wrote "k" before the reader filled.
        c.update([(&b("k"), &Some(b("new")))].into_iter());
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
        c.update([(&b("k"), &Some(b("2")))].into_iter());
        assert_eq!(c.get(b"k"), Some(Some(b("2"))));
        c.clear();
        assert!(c.is_empty());
        assert_eq!(c.get(b"k"), None);
    }
}
