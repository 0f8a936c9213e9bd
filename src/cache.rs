//! Verified-token cache, one per worker VM: the exact token string maps to the
//! verification result (whatever the gate keeps of it: `V`), so a different token can
//! never hit another token's entry.
//! Only successful verifications are stored; the caller re-checks the time claims on
//! every hit, so a cached token still expires on time. Eviction is CLOCK (second
//! chance), an O(1) approximation of LRU with a hard bound of `capacity` entries.

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::fast_hash::BuildWordHasher;

/// A token and its hash, computed once per request: the lookups and the insert of a
/// miss (accepted, then forged, then accepted again) reuse it instead of hashing a
/// 300-byte token three to five times.
#[derive(Debug, Clone, Copy)]
pub struct TokenKey<'a> {
    token: &'a str,
    hash: u64,
}

impl<'a> TokenKey<'a> {
    /// `token`, hashed.
    #[must_use]
    pub fn new(token: &'a str) -> Self {
        TokenKey {
            token,
            hash: BuildWordHasher::default().hash_one(token),
        }
    }

    /// The token.
    #[must_use]
    pub fn token(&self) -> &'a str {
        self.token
    }
}

#[derive(Debug)]
struct Slot<V> {
    token: Box<str>,
    hash: u64,
    provider: usize,
    value: V,
    referenced: bool,
}

/// A bounded map from token to what its verification produced. `V` is cloned on
/// every hit: make it an `Rc`.
///
/// The index maps a token's hash to its slot, and every lookup compares the whole
/// token, so a different token can never read another's entry. Two tokens with one
/// hash share the index entry: storing the second replaces the first (a miss for it
/// later, never a wrong hit). An attacker who picks colliding (forged) tokens
/// therefore only evicts entries; there is no chain to grow.
#[derive(Debug)]
pub struct TokenCache<V> {
    capacity: usize,
    // Unkeyed fast hash of a u64 (see `fast_hash`).
    index: HashMap<u64, usize, BuildWordHasher>,
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

    /// The cached result of `key` for `provider`, marking it recently used.
    pub fn get(&mut self, provider: usize, key: &TokenKey<'_>) -> Option<V> {
        let slot = self.slots.get_mut(*self.index.get(&key.hash)?)?;
        if slot.provider != provider || *slot.token != *key.token {
            return None;
        }
        slot.referenced = true;
        Some(slot.value.clone())
    }

    /// Stores `value` for `key` (replacing what it held: a forged token's memory is
    /// renewed when it fails again after its TTL), evicting one entry when full.
    pub fn insert(&mut self, provider: usize, key: &TokenKey<'_>, value: V) {
        if self.capacity == 0 {
            return;
        }
        if let Some(slot) = self
            .index
            .get(&key.hash)
            .copied()
            .and_then(|i| self.slots.get_mut(i))
        {
            // The same token, or one with the same hash: either way this slot is its.
            if *slot.token != *key.token {
                slot.token = Box::from(key.token);
            }
            slot.provider = provider;
            slot.value = value;
            slot.referenced = true;
            return;
        }
        let slot = Slot {
            token: Box::from(key.token),
            hash: key.hash,
            provider,
            value,
            referenced: false,
        };
        if self.slots.len() < self.capacity {
            self.index.insert(key.hash, self.slots.len());
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
            self.index.remove(&victim.hash);
            *victim = slot;
            self.index.insert(key.hash, self.hand);
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
    use std::rc::Rc;

    fn v(sub: &str) -> Rc<String> {
        Rc::new(sub.to_string())
    }

    fn k(token: &str) -> TokenKey<'_> {
        TokenKey::new(token)
    }

    /// A key with a chosen hash, to force collisions.
    fn colliding(token: &str) -> TokenKey<'_> {
        TokenKey { token, hash: 7 }
    }

    #[test]
    fn tokens_with_one_hash_never_read_each_others_entry() {
        let mut c = TokenCache::new(4);
        c.insert(0, &colliding("a.b.c"), v("a"));
        assert!(
            c.get(0, &colliding("x.y.z")).is_none(),
            "same hash, other token"
        );
        c.insert(0, &colliding("x.y.z"), v("x"));
        assert_eq!(c.len(), 1, "the colliding token took the slot over");
        assert!(c.get(0, &colliding("a.b.c")).is_none());
        assert_eq!(c.get(0, &colliding("x.y.z")).unwrap().as_str(), "x");
    }

    #[test]
    fn a_token_only_hits_its_own_entry_and_provider() {
        let mut c = TokenCache::new(4);
        c.insert(0, &k("a.b.c"), v("a"));
        assert_eq!(c.get(0, &k("a.b.c")).unwrap().as_str(), "a");
        assert!(c.get(0, &k("a.b.d")).is_none());
        assert!(c.get(1, &k("a.b.c")).is_none());
    }

    #[test]
    fn size_is_bounded_and_recently_used_entries_survive() {
        let mut c = TokenCache::new(3);
        for t in ["t1", "t2", "t3"] {
            c.insert(0, &k(t), v(t));
        }
        assert!(c.get(0, &k("t1")).is_some()); // t1 gets a second chance
        c.insert(0, &k("t4"), v("t4"));
        assert_eq!(c.len(), 3);
        assert!(c.get(0, &k("t1")).is_some());
        assert!(
            c.get(0, &k("t2")).is_none(),
            "the unreferenced oldest entry is evicted"
        );
        for i in 0..1000 {
            c.insert(0, &k(&format!("x{i}")), v("x"));
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.index.len(), 3);
    }

    #[test]
    fn inserting_a_held_token_replaces_its_value() {
        let mut c = TokenCache::new(2);
        c.insert(0, &k("t"), v("old"));
        c.insert(1, &k("t"), v("new"));
        assert_eq!(c.len(), 1);
        assert!(c.get(0, &k("t")).is_none());
        assert_eq!(c.get(1, &k("t")).unwrap().as_str(), "new");
    }

    #[test]
    fn capacity_zero_turns_caching_off() {
        let mut c = TokenCache::new(0);
        c.insert(0, &k("a"), v("a"));
        assert!(c.get(0, &k("a")).is_none());
        assert!(c.is_empty());
    }
}
