//! The bounded LRU behind `fetch_cached`.
//!
//! Two `BTreeMap`s from std rather than a crate: O(log n) per call is plenty for a per-session
//! cache of tens of entries, iteration order is deterministic (no hasher), and there is no
//! unsafe linked list to trust.

use std::collections::BTreeMap;

/// A map from keys to values that holds at most `capacity` entries, forgetting the least
/// recently used first.
///
/// Invariants: `len() <= capacity`; `entries` and `by_use` hold the same keys, each with the
/// same use stamp, and stamps only grow.
#[derive(Debug)]
pub(crate) struct Lru {
    capacity: usize,
    next_use: u64,
    /// Key → (its last use, value).
    entries: BTreeMap<String, (u64, String)>,
    /// Last use → key: the first is the least recently used.
    by_use: BTreeMap<u64, String>,
}

impl Lru {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            next_use: 0,
            entries: BTreeMap::new(),
            by_use: BTreeMap::new(),
        }
    }

    /// The value of `key`, which becomes the most recently used.
    pub(crate) fn get(&mut self, key: &str) -> Option<&str> {
        let stamp = self.next_stamp();
        let (used, value) = self.entries.get_mut(key)?;
        if let Some(key) = self.by_use.remove(used) {
            self.by_use.insert(stamp, key);
        }
        *used = stamp;
        Some(value)
    }

    /// Stores `value` under `key` as the most recently used, forgetting the least recently
    /// used entry if the cache is full.
    pub(crate) fn insert(&mut self, key: String, value: String) {
        if self.capacity == 0 {
            return;
        }
        let stamp = self.next_stamp();
        if let Some((used, _)) = self.entries.remove(&key) {
            self.by_use.remove(&used);
        }
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        self.by_use.insert(stamp, key.clone());
        self.entries.insert(key, (stamp, value));
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn next_stamp(&mut self) -> u64 {
        self.next_use += 1;
        self.next_use
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_least_recently_used() {
        let mut lru = Lru::new(2);
        lru.insert("a".into(), "1".into());
        lru.insert("b".into(), "2".into());
        assert_eq!(lru.get("a"), Some("1"));
        lru.insert("c".into(), "3".into());
        assert_eq!(lru.get("b"), None);
        assert_eq!(lru.get("a"), Some("1"));
        assert_eq!(lru.get("c"), Some("3"));
        lru.insert("c".into(), "4".into());
        assert_eq!((lru.len(), lru.get("c")), (2, Some("4")));
        assert_eq!(lru.entries.len(), lru.by_use.len());
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let mut lru = Lru::new(0);
        lru.insert("a".into(), "1".into());
        assert_eq!((lru.len(), lru.get("a")), (0, None));
    }
}
