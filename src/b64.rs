//! Strict base64url (RFC 7515 §2, RFC 4648 §5): the URL-safe alphabet, no `=`
//! padding, no whitespace, and unused trailing bits set to zero, so every byte string
//! has exactly one accepted encoding (no token malleability through the encoding).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
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
