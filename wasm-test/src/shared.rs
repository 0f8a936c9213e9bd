//! proxy-wasm shared data: a key-value store with compare-and-swap, shared
//! by every VM (worker) of a plugin in Envoy. Cloning a `SharedData` handle
//! and giving it to several `Host`s emulates several workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// What `set` can refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasMismatch {
    /// The caller's `cas` is not the entry's current one.
    Mismatch,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, (Vec<u8>, u32)>,
    last_cas: u32,
}

/// A handle on one shared-data store.
#[derive(Debug, Clone, Default)]
pub struct SharedData {
    inner: Arc<Mutex<Inner>>,
}

impl SharedData {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another test thread panicked while
        // holding it; the map itself is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value and its CAS token.
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.lock().entries.get(key).cloned()
    }

    /// Envoy's semantics: `cas == 0` writes unconditionally; a non-zero
    /// `cas` must match the existing entry (a missing entry accepts any).
    /// Every write gets a fresh non-zero CAS.
    pub fn set(&self, key: &str, value: &[u8], cas: u32) -> Result<u32, CasMismatch> {
        let mut inner = self.lock();
        if let Some((_, current)) = inner.entries.get(key) {
            if cas != 0 && cas != *current {
                return Err(CasMismatch::Mismatch);
            }
        }
        inner.last_cas = inner.last_cas.wrapping_add(1).max(1);
        let new_cas = inner.last_cas;
        inner
            .entries
            .insert(key.to_string(), (value.to_vec(), new_cas));
        Ok(new_cas)
    }

    /// Every key, sorted, for assertions.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().entries.keys().cloned().collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_semantics_follow_envoy() {
        let data = SharedData::default();
        assert_eq!(data.get("k"), None);
        let first = data.set("k", b"a", 0).unwrap();
        assert_ne!(first, 0);
        assert_eq!(data.set("k", b"b", first + 7), Err(CasMismatch::Mismatch));
        let second = data.set("k", b"b", first).unwrap();
        assert_eq!(data.get("k"), Some((b"b".to_vec(), second)));
        assert_eq!(data.set("k", b"c", first), Err(CasMismatch::Mismatch));
        assert!(data.set("k", b"c", 0).is_ok());
        assert!(data.set("new", b"x", 42).is_ok());
    }

    #[test]
    fn clones_share_one_store() {
        let a = SharedData::default();
        let b = a.clone();
        a.set("k", b"v", 0).unwrap();
        assert_eq!(b.get("k").map(|(v, _)| v), Some(b"v".to_vec()));
    }
}
