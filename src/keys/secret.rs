//! HMAC secrets as written in the configuration: `utf8` (default), `base64`,
//! `base64url` or `hex`. Error messages never contain the secret.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::Deserialize;

/// How a configured secret is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum SecretEncoding {
    /// The UTF-8 bytes of the string, as is.
    #[default]
    Utf8,
    /// Standard base64 (RFC 4648 §4), padding optional.
    Base64,
    /// base64url (RFC 4648 §5), padding optional.
    Base64Url,
    /// Hexadecimal, either case, even length.
    Hex,
}

fn lenient(alphabet: &alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// Decodes a configured secret. The result may be empty (the caller rejects that).
pub fn decode_secret(value: &str, enc: SecretEncoding) -> Result<Vec<u8>, String> {
    match enc {
        SecretEncoding::Utf8 => Ok(value.as_bytes().to_vec()),
        SecretEncoding::Base64 => lenient(&alphabet::STANDARD)
            .decode(value)
            .map_err(|_| "not valid base64".to_string()),
        SecretEncoding::Base64Url => lenient(&alphabet::URL_SAFE)
            .decode(value)
            .map_err(|_| "not valid base64url".to_string()),
        SecretEncoding::Hex => decode_hex(value).ok_or_else(|| "not valid hex".to_string()),
    }
}

fn decode_hex(value: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = value.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(*pair.first()?)? << 4 | nibble(*pair.get(1)?)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_decodes() {
        assert_eq!(
            decode_secret("s3cr3t", SecretEncoding::Utf8).unwrap(),
            b"s3cr3t"
        );
        assert_eq!(
            decode_secret("+/8=", SecretEncoding::Base64).unwrap(),
            [0xfb, 0xff]
        );
        assert_eq!(
            decode_secret("+/8", SecretEncoding::Base64).unwrap(),
            [0xfb, 0xff]
        );
        assert_eq!(
            decode_secret("-_8", SecretEncoding::Base64Url).unwrap(),
            [0xfb, 0xff]
        );
        assert_eq!(
            decode_secret("-_8=", SecretEncoding::Base64Url).unwrap(),
            [0xfb, 0xff]
        );
        assert_eq!(
            decode_secret("00fFaB", SecretEncoding::Hex).unwrap(),
            [0x00, 0xff, 0xab]
        );
    }

    #[test]
    fn bad_encoding_error_never_contains_the_secret() {
        for (value, enc) in [
            ("top-secret!", SecretEncoding::Base64),
            ("top+secret!", SecretEncoding::Base64Url),
            ("top-secret", SecretEncoding::Hex),
            ("abc", SecretEncoding::Hex),
        ] {
            let e = decode_secret(value, enc).unwrap_err();
            assert!(!e.contains("secret") || !e.contains(value), "{e}");
            assert!(!e.contains(value), "{e}");
        }
    }

    #[test]
    fn encoding_names_are_lowercase() {
        let e: SecretEncoding = serde_json::from_str("\"base64url\"").unwrap();
        assert_eq!(e, SecretEncoding::Base64Url);
        assert!(serde_json::from_str::<SecretEncoding>("\"Base64\"").is_err());
        assert_eq!(SecretEncoding::default(), SecretEncoding::Utf8);
    }
}
