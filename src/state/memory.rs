//! An in-memory key-value store: a B-tree behind a read-write lock, so pull queries read
//! while the task writes. Durable through its changelog.

use std::collections::BTreeMap;
use std::ops::Bound;

use bytes::Bytes;
use parking_lot::RwLock;

use super::{Entry, KeyValueStore, StateResult};

/// A B-tree store.
pub struct MemoryStore {
    name: String,
    map: RwLock<BTreeMap<Bytes, Bytes>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new(name: impl Into<String>) -> Self {
        MemoryStore {
            name: name.into(),
            map: RwLock::new(BTreeMap::new()),
        }
    }
}

impl KeyValueStore for MemoryStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn get(&self, key: &[u8]) -> StateResult<Option<Bytes>> {
        Ok(self.map.read().get(key).cloned())
    }

    fn put(&self, key: &[u8], value: Option<&[u8]>) -> StateResult<()> {
        let mut map = self.map.write();
        match value {
            Some(v) => {
                map.insert(Bytes::copy_from_slice(key), Bytes::copy_from_slice(v));
            }
            None => {
                map.remove(key);
            }
        }
        Ok(())
    }

    fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> StateResult<Vec<Entry>> {
        let lower = from.map_or(Bound::Unbounded, Bound::Included);
        let upper = to.map_or(Bound::Unbounded, Bound::Excluded);
        if let (Bound::Included(a), Bound::Excluded(b)) = (lower, upper)
            && a >= b
        {
            return Ok(Vec::new());
        }
        let map = self.map.read();
        Ok(map
            .range::<[u8], _>((lower, upper))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn approximate_len(&self) -> u64 {
        self.map.read().len() as u64
    }

    fn flush(&self) -> StateResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_and_range() {
        let s = MemoryStore::new("s");
        s.put(b"b", Some(b"2")).unwrap();
        s.put(b"a", Some(b"1")).unwrap();
        s.put(b"c", Some(b"3")).unwrap();
        assert_eq!(s.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        s.put(b"a", None).unwrap();
        assert_eq!(s.get(b"a").unwrap(), None);
        let keys: Vec<Bytes> = s
            .range(Some(b"b"), Some(b"c"))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![Bytes::from_static(b"b")]);
        assert_eq!(s.range(Some(b"c"), Some(b"a")).unwrap(), vec![]);
        assert_eq!(s.approximate_len(), 2);
    }
}
