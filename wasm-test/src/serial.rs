//! The proxy-wasm wire formats for header maps and property paths.
//!
//! Map layout (SDK `hostcalls::utils::serialize_map`): `u32 count`, then
//! `count` pairs of `u32 key_len, u32 value_len`, then each key and value
//! followed by a NUL byte. All integers little-endian.

/// One header (or trailer) as raw bytes: Envoy allows obs-text in values.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Encodes pairs in the proxy-wasm map format.
pub fn serialize_map(pairs: &[Pair]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(k, v)| k.len() + v.len() + 10)
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&len_u32(pairs.len()).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&len_u32(k.len()).to_le_bytes());
        out.extend_from_slice(&len_u32(v.len()).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

/// Decodes the proxy-wasm map format; `None` if the bytes are malformed
/// (truncated, lengths past the end, missing NUL terminators).
pub fn deserialize_map(bytes: &[u8]) -> Option<Vec<Pair>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = read_u32(bytes, 0)? as usize;
    // Every pair needs 8 bytes of lengths + 2 NULs: reject absurd counts
    // before allocating for them.
    if count.checked_mul(10)? > bytes.len() {
        return None;
    }
    let mut pairs = Vec::with_capacity(count);
    let mut data = 4 + count * 8;
    for n in 0..count {
        let key_len = read_u32(bytes, 4 + n * 8)? as usize;
        let value_len = read_u32(bytes, 8 + n * 8)? as usize;
        let key = take_nul_terminated(bytes, &mut data, key_len)?;
        let value = take_nul_terminated(bytes, &mut data, value_len)?;
        pairs.push((key, value));
    }
    Some(pairs)
}

/// Splits a property path (`["request", "path"]` is sent as `request\0path`).
pub fn deserialize_path(bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == 0)
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect()
}

fn take_nul_terminated(bytes: &[u8], at: &mut usize, len: usize) -> Option<Vec<u8>> {
    let end = at.checked_add(len)?;
    let value = bytes.get(*at..end)?.to_vec();
    if *bytes.get(end)? != 0 {
        return None;
    }
    *at = end + 1;
    Some(value)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw))
}

/// Guest memory is 32-bit: anything we serialize is far below 4 GiB, and
/// saturating keeps this total without a panic path.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(k: &str, v: &str) -> Pair {
        (k.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn map_round_trips() {
        let pairs = vec![pair(":path", "/a"), pair("x-empty", ""), pair("", "v")];
        assert_eq!(deserialize_map(&serialize_map(&pairs)), Some(pairs));
    }

    #[test]
    fn map_layout_matches_the_sdk() {
        // Bytes as produced by proxy-wasm-0.2.5 `serialize_map(&[("a", "bc")])`.
        let expected = [1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', 0, b'b', b'c', 0];
        assert_eq!(serialize_map(&[pair("a", "bc")]), expected);
    }

    #[test]
    fn empty_input_is_an_empty_map() {
        assert_eq!(deserialize_map(&[]), Some(Vec::new()));
        assert_eq!(deserialize_map(&serialize_map(&[])), Some(Vec::new()));
    }

    #[test]
    fn malformed_maps_are_rejected() {
        let good = serialize_map(&[pair("key", "value")]);
        for cut in 1..good.len() {
            assert_eq!(deserialize_map(&good[..cut]), None, "truncated at {cut}");
        }
        let mut no_nul = good.clone();
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert_eq!(deserialize_map(&no_nul), None);
        assert_eq!(deserialize_map(&[0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn binary_values_survive() {
        let pairs = vec![(b"k".to_vec(), vec![0xff, 0x80, 0x01])];
        assert_eq!(deserialize_map(&serialize_map(&pairs)), Some(pairs));
    }

    #[test]
    fn paths_split_on_nul() {
        assert_eq!(deserialize_path(b"request\0path"), ["request", "path"]);
        assert!(deserialize_path(b"").is_empty());
    }
}
