//! Decodes the proxy-wasm header-map wire format (`u32` count, then `u32` name/value
//! lengths, then NUL-terminated names and values) without trusting it: every length is
//! bounds-checked and names and values are read lossily. The SDK's own decoder unwraps
//! `String::from_utf8` on names, so one non-UTF-8 header name from a lenient host would
//! panic and kill the VM.

/// The `(name, value)` pairs in `bytes`; a truncated map yields the pairs read so far.
#[must_use]
pub fn decode(bytes: &[u8]) -> Vec<(String, String)> {
    let read_u32 = |at: usize| -> Option<usize> {
        let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(raw)).ok()
    };
    let Some(count) = read_u32(0) else {
        return Vec::new();
    };
    // Each pair needs at least 8 bytes of lengths and 2 NULs: a huge count is a lie.
    let count = count.min(bytes.len() / 10);
    let mut pairs = Vec::with_capacity(count);
    let Some(mut data) = count.checked_mul(8).and_then(|n| n.checked_add(4)) else {
        return pairs;
    };
    for i in 0..count {
        let (Some(name_len), Some(value_len)) = (read_u32(4 + i * 8), read_u32(8 + i * 8)) else {
            break;
        };
        let Some(name) = take(bytes, &mut data, name_len) else {
            break;
        };
        let Some(value) = take(bytes, &mut data, value_len) else {
            break;
        };
        pairs.push((
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    pairs
}

/// `len` bytes at `*at`, then skips them and their NUL terminator.
fn take<'a>(bytes: &'a [u8], at: &mut usize, len: usize) -> Option<&'a [u8]> {
    let end = at.checked_add(len)?;
    let slice = bytes.get(*at..end)?;
    *at = end.checked_add(1)?;
    Some(slice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = u32::try_from(pairs.len()).unwrap().to_le_bytes().to_vec();
        for (n, v) in pairs {
            out.extend(u32::try_from(n.len()).unwrap().to_le_bytes());
            out.extend(u32::try_from(v.len()).unwrap().to_le_bytes());
        }
        for (n, v) in pairs {
            out.extend(*n);
            out.push(0);
            out.extend(*v);
            out.push(0);
        }
        out
    }

    #[test]
    fn decodes_pairs_and_reads_bad_utf8_lossily() {
        let bytes = encode(&[(b":path", b"/a"), (b"x-\x80", b"v\xff")]);
        assert_eq!(
            decode(&bytes),
            vec![
                (":path".into(), "/a".into()),
                ("x-\u{fffd}".into(), "v\u{fffd}".into())
            ]
        );
    }

    #[test]
    fn lying_lengths_never_panic() {
        assert!(decode(&[]).is_empty());
        assert!(decode(&[255, 255, 255, 255]).is_empty());
        let mut bytes = encode(&[(b"a", b"b")]);
        bytes[4] = 200;
        assert!(decode(&bytes).is_empty());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }
    }
}
