//! Verified-token cache, one per worker VM: the exact token string maps to the
//! verification result (whatever the gate keeps of it: `V`), so a different token can
//! never hit another token's entry.
//! Only successful verifications are stored; the caller re-checks the time claims on
//! every hit, so a cached token still expires on time. Eviction is CLOCK (second
//! chance), an O(1) approximation of LRU with a hard bound of `capacity` entries.

use std::collections::HashMap;
use std::rc::Rc;

use crate::fast_hash::BuildWordHasher;

#[derive(Debug)]
struct Slot<V> {
    token: Rc<str>,
    provider: usize,
    value: V,
    referenced: bool,
}

/// A bounded map from token to what its verification produced. `V` is cloned on
/// every hit: make it an `Rc`.
#[derive(Debug)]
pub struct TokenCache<V> {
    capacity: usize,
    // Unkeyed fast hash: only verified tokens are inserted (see `fast_hash`).
    index: HashMap<Rc<str>, usize, BuildWordHasher>,
    slots: Vec<Slot<V>>,
    hand: usize,
}

impl<V: Clone> TokenCache<V> {
    /// A cache of at most `capacity` entries (0 = caching off).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        TokenCache {
            capacity,
            index: HashMap::with_capacity_and_hasher(
                capacity.min(4096),
                BuildWordHasher::default(),
            ),
            slots: Vec::new(),
            hand: 0,
        }
    }

    /// The cached result of `token` for `provider`, marking it recently used.
    pub fn get(&mut self, provider: usize, token: &str) -> Option<V> {
        let slot = self.slots.get_mut(*self.index.get(token)?)?;
        if slot.provider != provider {
            return None;
        }
        slot.referenced = true;
        Some(slot.value.clone())
    }

    /// Stores `value` for `token` (replacing what it held: a forged token's memory is
    /// renewed when it fails again after its TTL), evicting one entry when full.
    pub fn insert(&mut self, provider: usize, token: &str, value: V) {
        if self.capacity == 0 {
            return;
        }
        if let Some(slot) = self
            .index
            .get(token)
            .copied()
            .and_then(|i| self.slots.get_mut(i))
        {
            slot.provider = provider;
            slot.value = value;
            slot.referenced = true;
            return;
        }
        let token: Rc<str> = Rc::from(token);
        let slot = Slot {
            token: Rc::clone(&token),
            provider,
            value,
            referenced: false,
        };
        if self.slots.len() < self.capacity {
            self.index.insert(token, self.slots.len());
            self.slots.push(slot);
            return;
        }
        // Second chance: skip (and clear) recently used entries; at most one full turn.
        let len = self.slots.len();
        for _ in 0..=len {
            let Some(candidate) = self.slots.get_mut(self.hand) else {
                break;
            };
            if !candidate.referenced {
                break;
            }
            candidate.referenced = false;
            self.hand = (self.hand + 1) % len;
        }
        if let Some(victim) = self.slots.get_mut(self.hand) {
            self.index.remove(&victim.token);
            *victim = slot;
            self.index.insert(token, self.hand);
            self.hand = (self.hand + 1) % len;
        }
    }

    /// Drops every entry (e.g. after a key set changed).
    pub fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.hand = 0;
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the cache is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(sub: &str) -> Rc<String> {
        Rc::new(sub.to_string())
    }

    #[test]
    fn a_token_only_hits_its_own_entry_and_provider() {
        let mut c = TokenCache::new(4);
        c.insert(0, "a.b.c", v("a"));
        assert_eq!(c.get(0, "a.b.c").unwrap().as_str(), "a");
        assert!(c.get(0, "a.b.d").is_none());
        assert!(c.get(1, "a.b.c").is_none());
    }

    #[test]
    fn size_is_bounded_and_recently_used_entries_survive() {
        let mut c = TokenCache::new(3);
        for t in ["t1", "t2", "t3"] {
            c.insert(0, t, v(t));
        }
        assert!(c.get(0, "t1").is_some()); // t1 gets a second chance
        c.insert(0, "t4", v("t4"));
        assert_eq!(c.len(), 3);
        assert!(c.get(0, "t1").is_some());
        assert!(
            c.get(0, "t2").is_none(),
            "the unreferenced oldest entry is evicted"
        );
        for i in 0..1000 {
            c.insert(0, &format!("x{i}"), v("x"));
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.index.len(), 3);
    }

    #[test]
    fn inserting_a_held_token_replaces_its_value() {
        let mut c = TokenCache::new(2);
        c.insert(0, "t", v("old"));
        c.insert(1, "t", v("new"));
        assert_eq!(c.len(), 1);
        assert!(c.get(0, "t").is_none());
        assert_eq!(c.get(1, "t").unwrap().as_str(), "new");
    }

    #[test]
    fn capacity_zero_turns_caching_off() {
        let mut c = TokenCache::new(0);
        c.insert(0, "a", v("a"));
        assert!(c.get(0, "a").is_none());
        assert!(c.is_empty());
    }
}
