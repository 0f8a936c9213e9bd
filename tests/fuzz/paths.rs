//! Path normalization (`path::normalize`): the key every rule matches. On random and
//! path-like input it is canonical and idempotent, and it equals what a backend that
//! percent-decodes *everything* before resolving dot segments would route to, so no
//! encoding trick reaches a path the rules did not see.

use jwt_gate::path::normalize;
use proptest::prelude::*;

use crate::check;

fn piece() -> impl Strategy<Value = &'static str> {
    // Mostly pieces a backend accepts (so most paths normalize), some it must refuse.
    let accepted = prop::sample::select(vec![
        "/", "//", ".", "..", "%2e", "%2E", "%2e%2E", "%252e", ";", ";x=/", ".;", "..;", "%3b",
        "%3B", "a", "admin", "public", "A", "%41", "%61dmin", "%7e", "~", "%c3%a9", "\u{e9}",
        "%25", "%3f", "%23", " ", "%20", "\u{fffd}", "*", "%c2%85",
    ]);
    let refused = prop::sample::select(vec![
        "%", "%0", "%zz", "%2f", "%2F", "%5c", "\\", "%00", "\u{0}", "%7f", "\u{7f}", "\u{85}",
        "\t", "?", "#",
    ]);
    prop_oneof![30 => accepted, 1 => refused]
}

fn raw_path() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::vec(piece(), 0..16).prop_map(|p| format!("/{}", p.concat())),
        1 => prop::collection::vec(piece(), 0..16).prop_map(|p| p.concat()),
        1 => "\\PC{0,24}",
        1 => prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Percent-decodes every escape once.
fn decode_all(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// A backend's view: cut the query, refuse what is ambiguous, decode everything, drop
/// `;` parameters, merge slashes, resolve dot segments. `None` = must be refused.
fn backend_view(raw: &str) -> Option<Vec<u8>> {
    let path = raw.split(['?', '#']).next().unwrap_or("");
    if path == "*" {
        return Some(b"*".to_vec());
    }
    if !path.starts_with('/') || path.contains('\\') || path.chars().any(char::is_control) {
        return None;
    }
    let b = path.as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = b.get(i + 1..i + 3)?;
            if !h.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let byte = u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
            if byte == b'/' || byte == b'\\' || byte < 0x20 || byte == 0x7f {
                return None;
            }
            decoded.push(byte);
            i += 3;
        } else {
            decoded.push(b[i]);
            i += 1;
        }
    }
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut trailing = false;
    for seg in decoded.split(|&c| c == b'/').skip(1) {
        let seg = seg.split(|&c| c == b';').next().unwrap_or(&[]);
        match seg {
            b"" | b"." => trailing = true,
            b".." => {
                kept.pop();
                trailing = true;
            }
            name => {
                kept.push(name);
                trailing = false;
            }
        }
    }
    let mut out = Vec::new();
    for name in &kept {
        out.push(b'/');
        out.extend_from_slice(name);
    }
    if out.is_empty() || trailing {
        out.push(b'/');
    }
    Some(out)
}

fn canonical(key: &str) -> Result<(), TestCaseError> {
    prop_assert!(key == "*" || key.starts_with('/'), "{key:?}");
    for bad in ["//", "/./", "/../", ";", "%3B", "?", "#", "\\"] {
        prop_assert!(!key.contains(bad), "{bad:?} survives in {key:?}");
    }
    prop_assert!(!key.ends_with("/.") && !key.ends_with("/.."), "{key:?}");
    prop_assert!(!key.chars().any(char::is_control), "{key:?}");
    // Every escape left is two uppercase hex digits of a byte that is neither
    // unreserved (those are decoded) nor refused.
    let b = key.as_bytes();
    for (i, _) in key.match_indices('%') {
        let h = b.get(i + 1..i + 3).unwrap_or(b"");
        prop_assert!(
            h.len() == 2
                && h.iter()
                    .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c)),
            "{key:?}"
        );
        let byte = u8::from_str_radix(std::str::from_utf8(h).unwrap(), 16).unwrap();
        prop_assert!(
            !(byte.is_ascii_alphanumeric()
                || b"-._~/\\".contains(&byte)
                || byte < 0x20
                || byte == 0x7f),
            "{key:?}"
        );
    }
    Ok(())
}

#[test]
fn normalized_paths_are_canonical_idempotent_and_what_a_backend_sees() {
    check("paths.normalize", raw_path(), |raw, tally| {
        let got = normalize(&raw);
        let expected = backend_view(&raw);
        match (&got, &expected) {
            (Ok(key), Some(view)) => {
                canonical(key)?;
                let again = normalize(key);
                prop_assert_eq!(again.as_ref(), Ok(key), "not idempotent");
                prop_assert_eq!(&decode_all(key), view, "{:?} -> {:?}", raw, key);
                tally.saw(if key == "/" { "root" } else { "normalized" });
            }
            (Err(_), None) => tally.saw("refused"),
            _ => prop_assert!(
                false,
                "{raw:?}: normalize {got:?}, a backend sees {expected:?}"
            ),
        }
        Ok(())
    });
}
