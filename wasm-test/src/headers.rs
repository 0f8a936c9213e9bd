//! An ordered, case-insensitive header map with Envoy's semantics.
//!
//! Envoy stores header names lower-cased; `get` returns the first value,
//! `replace` leaves exactly one entry, `remove` drops every entry.

use crate::serial::Pair;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HeaderMap {
    pairs: Vec<Pair>,
}

impl HeaderMap {
    /// Builds a map from test input, lower-casing names as Envoy's codecs do.
    pub(crate) fn from_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Self {
        let mut map = HeaderMap::default();
        for (name, value) in pairs {
            map.add(name.as_ref(), value.as_ref());
        }
        map
    }

    /// Replaces the whole map (`proxy_set_header_map_pairs`).
    pub(crate) fn set_all(&mut self, pairs: Vec<Pair>) {
        self.pairs.clear();
        for (name, value) in pairs {
            self.add(&name, &value);
        }
    }

    pub(crate) fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    pub(crate) fn len(&self) -> usize {
        self.pairs.len()
    }

    pub(crate) fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    pub(crate) fn add(&mut self, name: &[u8], value: &[u8]) {
        self.pairs.push((name.to_ascii_lowercase(), value.to_vec()));
    }

    pub(crate) fn replace(&mut self, name: &[u8], value: &[u8]) {
        match self
            .pairs
            .iter()
            .position(|(key, _)| key.eq_ignore_ascii_case(name))
        {
            Some(first) => {
                if let Some(slot) = self.pairs.get_mut(first) {
                    slot.1 = value.to_vec();
                }
                let mut index = 0;
                self.pairs.retain(|(key, _)| {
                    let keep = index <= first || !key.eq_ignore_ascii_case(name);
                    index += 1;
                    keep
                });
            }
            None => self.add(name, value),
        }
    }

    pub(crate) fn remove(&mut self, name: &[u8]) {
        self.pairs
            .retain(|(key, _)| !key.eq_ignore_ascii_case(name));
    }

    /// Lossy UTF-8 view for assertions and JSON output.
    pub(crate) fn to_strings(&self) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_stored_lower_case() {
        let mut map = HeaderMap::from_pairs(&[("X-A", "1")]);
        assert_eq!(map.get(b"x-a"), Some(&b"1"[..]));
        map.add(b"X-A", b"2");
        assert_eq!(
            map.to_strings(),
            [("x-a".into(), "1".into()), ("x-a".into(), "2".into())]
        );
    }

    #[test]
    fn replace_keeps_one_entry_in_place() {
        let mut map = HeaderMap::from_pairs(&[("a", "1"), ("b", "2"), ("a", "3")]);
        map.replace(b"A", b"9");
        assert_eq!(
            map.to_strings(),
            [("a".into(), "9".into()), ("b".into(), "2".into())]
        );
        map.replace(b"c", b"new");
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn remove_drops_every_entry() {
        let mut map = HeaderMap::from_pairs(&[("a", "1"), ("b", "2"), ("A", "3")]);
        map.remove(b"a");
        assert_eq!(map.to_strings(), [("b".into(), "2".into())]);
    }
}
