//! Strict base64url (RFC 7515 §2, RFC 4648 §5): the URL-safe alphabet, no `=`
//! padding, no whitespace, and unused trailing bits set to zero, so every byte string
//! has exactly one accepted encoding (no token malleability through the encoding).

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::DecodeSliceError;
use base64::Engine as _;

/// base64url, padding forbidden, trailing bits must be zero.
const URL_STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Decodes strict base64url (no padding, no whitespace, canonical trailing bits).
/// The empty string decodes to no bytes.
#[must_use]
pub fn decode_url(s: &str) -> Option<Vec<u8>> {
    URL_STRICT.decode(s).ok()
}

/// Decodes strict base64url like [`decode_url`] and hands the bytes to `f`, decoding
/// into a stack buffer when they fit (a token header always does): no allocation.
pub fn with_decoded<R>(s: &str, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    let mut buf = [0u8; STACK_DECODE_BYTES];
    match URL_STRICT.decode_slice(s, &mut buf) {
        Ok(len) => buf.get(..len).map(f),
        Err(DecodeSliceError::OutputSliceTooSmall) => decode_url(s).map(|v| f(&v)),
        Err(DecodeSliceError::DecodeError(_)) => None,
    }
}

/// Stack room of [`with_decoded`].
const STACK_DECODE_BYTES: usize = 384;

/// Up to `N` decoded bytes held inline, e.g. a signature (no allocation).
#[derive(Clone, Copy)]
pub struct Inline<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Inline<N> {
    /// The bytes.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Debug for Inline<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Inline({} bytes)", self.len)
    }
}

/// Decodes strict base64url into at most `N` bytes without allocating; `None` when
/// invalid or longer.
#[must_use]
pub fn decode_url_inline<const N: usize>(s: &str) -> Option<Inline<N>> {
    let mut bytes = [0u8; N];
    let len = URL_STRICT.decode_slice(s, &mut bytes).ok()?;
    Some(Inline { bytes, len })
}

/// Encodes bytes as base64url without padding.
#[must_use]
pub fn encode_url(bytes: &[u8]) -> String {
    URL_STRICT.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        for len in 0..70u8 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(37).wrapping_add(251))
                .collect();
            let text = encode_url(&bytes);
            assert!(!text.contains('='));
            assert_eq!(decode_url(&text), Some(bytes));
        }
    }

    /// The allocation-free decoders must accept and refuse exactly what `decode_url`
    /// does, on both sides of the stack buffer's size.
    #[test]
    fn stack_decoders_agree_with_decode_url() {
        let mut inputs: Vec<String> = (0..600usize)
            .map(|len| {
                let bytes: Vec<u8> = (0..len).map(|i| (i * 131 % 251) as u8).collect();
                encode_url(&bytes)
            })
            .collect();
        inputs.extend(["YQ==", "YR", "Y", "+/8", "YW I", "-_8", ""].map(String::from));
        for text in &inputs {
            let want = decode_url(text);
            assert_eq!(with_decoded(text, <[u8]>::to_vec), want, "{text}");
            let inline = decode_url_inline::<130>(text).map(|b| b.as_slice().to_vec());
            match &want {
                Some(bytes) if bytes.len() <= 130 => assert_eq!(inline.as_ref(), Some(bytes)),
                _ => assert_eq!(inline, None, "{text}"),
            }
        }
    }

    #[test]
    fn padding_is_rejected() {
        assert_eq!(decode_url("YQ"), Some(b"a".to_vec()));
        assert_eq!(decode_url("YQ=="), None);
        assert_eq!(decode_url("YWI="), None);
        assert_eq!(decode_url("YWI"), Some(b"ab".to_vec()));
    }

    #[test]
    fn standard_alphabet_and_whitespace_are_rejected() {
        assert_eq!(decode_url("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode_url("+/8"), None);
        assert_eq!(decode_url("YW I"), None);
        assert_eq!(decode_url("YWI\n"), None);
        assert_eq!(decode_url(" YWI"), None);
    }

    #[test]
    fn non_canonical_trailing_bits_are_rejected() {
        // "YQ" is 'a'; "YR" carries the same byte with a non-zero unused bit.
        assert_eq!(decode_url("YR"), None);
        assert_eq!(decode_url("YWJ"), None);
    }

    #[test]
    fn impossible_length_is_rejected() {
        assert_eq!(decode_url("Y"), None);
        assert_eq!(decode_url("YWJjZ"), None);
        assert_eq!(decode_url(""), Some(Vec::new()));
    }
}
