//! Decodes the proxy-wasm header-map wire format (`u32` count, then `u32` name/value
//! lengths, then NUL-terminated names and values) without trusting it: every length is
//! bounds-checked and names and values are read lossily. The SDK's own decoder unwraps
//! `String::from_utf8` on names, so one non-UTF-8 header name from a lenient host would
//! panic and kill the VM.
//!
//! Names and values borrow from the host's buffer when they are valid UTF-8 (every
//! header Envoy sends in practice), so decoding a request costs one `Vec` instead of two
//! `String`s per header; only invalid bytes are copied, lossily.

use std::borrow::Cow;

/// One decoded `(name, value)` pair, borrowed from the wire bytes unless it had to be
/// repaired.
pub type Header<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The `(name, value)` pairs in `bytes`; a truncated map yields the pairs read so far.
#[must_use]
pub fn decode(bytes: &[u8]) -> Vec<Header<'_>> {
    let read_u32 = |at: usize| -> Option<usize> {
        let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(raw)).ok()
    };
    let Some(count) = read_u32(0) else {
        return Vec::new();
    };
    // The names and values start after all `count` length pairs, whatever `count` says:
    // a smaller offset would read lengths as data and yield pairs the host never sent.
    let Some(mut data) = count.checked_mul(8).and_then(|n| n.checked_add(4)) else {
        return Vec::new();
    };
    // Each pair needs at least 8 bytes of lengths and 2 NULs: allocate for no more (a huge
    // count is a lie, and the loop stops at the first length it cannot read).
    let mut pairs = Vec::with_capacity(count.min(bytes.len() / 10));
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
        pairs.push((text(name), text(value)));
    }
    pairs
}

/// The wire format of `pairs`, for a local reply's or a callout's headers.
#[must_use]
pub fn encode_pairs(pairs: &[(&str, &str)]) -> Vec<u8> {
    let size = pairs
        .iter()
        .map(|(n, v)| n.len() + v.len() + 10)
        .sum::<usize>()
        + 4;
    let mut out = Vec::with_capacity(size);
    let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    out.extend_from_slice(&len(pairs.len()));
    for (name, value) in pairs {
        out.extend_from_slice(&len(name.len()));
        out.extend_from_slice(&len(value.len()));
    }
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value.as_bytes());
        out.push(0);
    }
    out
}

/// `bytes` as text: borrowed when valid UTF-8, else a lossy copy (U+FFFD for each
/// invalid sequence). `from_utf8` first: its ASCII fast path validates a word at a
/// time, where `from_utf8_lossy` walks byte by byte even when nothing needs repair.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
    }
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
    fn valid_utf8_is_borrowed_invalid_bytes_are_copied() {
        let bytes = encode(&[(b"x-ok", "caf\u{e9}".as_bytes()), (b"x-bad", b"\xc3")]);
        let got = decode(&bytes);
        assert!(matches!(
            got[..],
            [
                (Cow::Borrowed("x-ok"), Cow::Borrowed("caf\u{e9}")),
                (Cow::Borrowed("x-bad"), Cow::Owned(_))
            ]
        ));
        assert_eq!(got[1].1, "\u{fffd}");
    }

    #[test]
    fn lying_lengths_never_panic() {
        assert!(decode(&[]).is_empty());
        assert!(decode(&[255, 255, 255, 255]).is_empty());
        let mut bytes = encode(&[(b"a", b"b")]);
        bytes[4] = 200;
        assert!(decode(&bytes).is_empty());
    }

    #[test]
    fn encoded_pairs_decode_to_themselves() {
        let pairs = [
            (":status", "401"),
            ("www-authenticate", "Bearer"),
            ("x-empty", ""),
        ];
        let expected: Vec<Header<'_>> = pairs
            .iter()
            .map(|(n, v)| ((*n).into(), (*v).into()))
            .collect();
        assert_eq!(decode(&encode_pairs(&pairs)), expected);
        assert_eq!(encode_pairs(&[]), vec![0, 0, 0, 0]);
    }

    #[test]
    fn regression_truncated_map_yields_a_prefix_not_garbage() {
        // Found by tests/fuzz (headers.map_decode): clamping the count to the bytes
        // present also moved the data offset, so lengths were read as names.
        let bytes = encode(&[(b"\x02", b""), (b"\0\0\0", b"\0\0")]);
        let all = decode(&bytes);
        assert_eq!(all.len(), 2);
        for cut in 0..bytes.len() {
            let got = decode(&bytes[..cut]);
            assert_eq!(got[..], all[..got.len()], "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }
    }
}
