//! proxy-wasm shared data: a key-value store with compare-and-swap, shared
//! by every VM (worker) of a plugin in Envoy. Cloning a `SharedData` handle
//! and giving it to several `Host`s emulates several workers.
//!
//! Faults can be queued for the guest's next calls ([`SharedData::inject`]): a
//! write lost to another worker (CAS mismatch), an evicted entry, a value some
//! other writer left under the key, or a status a host with bounded shared
//! memory may answer. The test's own `get`/`set` never see them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::types::Status;

/// What `set` can refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasMismatch {
    /// The caller's `cas` is not the entry's current one.
    Mismatch,
}

/// A fault for one guest shared-data call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedFault {
    /// `proxy_set_shared_data` answers `CasMismatch` and writes nothing, as when
    /// another worker changed the entry first.
    SetCasMismatch,
    /// `proxy_set_shared_data` answers this status and writes nothing (e.g.
    /// `InternalFailure`: a full shared-memory zone in ngx_wasm_module).
    SetStatus(Status),
    /// `proxy_get_shared_data` answers `NotFound` (the entry was evicted).
    GetNotFound,
    /// `proxy_get_shared_data` answers this value, whatever the key holds.
    GetValue(Vec<u8>),
    /// `proxy_get_shared_data` answers this status.
    GetStatus(Status),
}

impl SharedFault {
    fn is_set(&self) -> bool {
        matches!(
            self,
            SharedFault::SetCasMismatch | SharedFault::SetStatus(_)
        )
    }
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, (Vec<u8>, u32)>,
    last_cas: u32,
    set_faults: VecDeque<SharedFault>,
    get_faults: VecDeque<SharedFault>,
    faults_served: usize,
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

    /// Queues `fault` for the guest's next `times` sets (or gets, by its kind);
    /// faults already queued come first.
    pub fn inject(&self, fault: SharedFault, times: usize) {
        let mut inner = self.lock();
        let queue = if fault.is_set() {
            &mut inner.set_faults
        } else {
            &mut inner.get_faults
        };
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// How many injected faults the guest has met so far.
    pub fn faults_served(&self) -> usize {
        self.lock().faults_served
    }

    /// Injected faults not met yet.
    pub fn faults_pending(&self) -> usize {
        let inner = self.lock();
        inner.set_faults.len() + inner.get_faults.len()
    }

    /// `proxy_get_shared_data` for the guest: the next injected get fault, else the entry.
    pub(crate) fn guest_get(&self, key: &str) -> Result<(Vec<u8>, u32), Status> {
        let mut inner = self.lock();
        let Some(fault) = inner.get_faults.pop_front() else {
            return inner.entries.get(key).cloned().ok_or(Status::NotFound);
        };
        inner.faults_served += 1;
        match fault {
            SharedFault::GetValue(value) => {
                inner.last_cas = inner.last_cas.wrapping_add(1).max(1);
                Ok((value, inner.last_cas))
            }
            SharedFault::GetStatus(status) => Err(status),
            _ => Err(Status::NotFound),
        }
    }

    /// `proxy_set_shared_data` for the guest: the next injected set fault, else [`set`](Self::set).
    pub(crate) fn guest_set(&self, key: &str, value: &[u8], cas: u32) -> Result<u32, Status> {
        let fault = {
            let mut inner = self.lock();
            let fault = inner.set_faults.pop_front();
            inner.faults_served += usize::from(fault.is_some());
            fault
        };
        match fault {
            Some(SharedFault::SetStatus(status)) => Err(status),
            Some(_) => Err(Status::CasMismatch),
            None => self.set(key, value, cas).map_err(|_| Status::CasMismatch),
        }
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
    fn injected_faults_hit_only_the_guest_and_only_as_often_as_asked() {
        let data = SharedData::default();
        data.set("k", b"v", 0).unwrap();
        data.inject(SharedFault::SetCasMismatch, 1);
        data.inject(SharedFault::GetValue(b"junk".to_vec()), 1);
        data.inject(SharedFault::GetNotFound, 1);
        assert_eq!(data.get("k").map(|(v, _)| v), Some(b"v".to_vec()));
        assert_eq!(data.guest_set("k", b"w", 0), Err(Status::CasMismatch));
        assert_eq!(data.get("k").map(|(v, _)| v), Some(b"v".to_vec()));
        assert_eq!(data.guest_get("k").map(|(v, _)| v), Ok(b"junk".to_vec()));
        assert_eq!(data.guest_get("k"), Err(Status::NotFound));
        assert_eq!(data.faults_served(), 3);
        assert_eq!(data.faults_pending(), 0);
        assert!(data.guest_set("k", b"w", 0).is_ok());
        assert_eq!(data.guest_get("k").map(|(v, _)| v), Ok(b"w".to_vec()));
    }

    #[test]
    fn clones_share_one_store() {
        let a = SharedData::default();
        let b = a.clone();
        a.set("k", b"v", 0).unwrap();
        assert_eq!(b.get("k").map(|(v, _)| v), Some(b"v".to_vec()));
    }
}
