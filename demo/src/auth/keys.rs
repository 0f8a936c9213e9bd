//! The ES256 signing key: from `DEMO_SIGNING_KEY` (PEM text or a file path), else the
//! key persisted in `<data dir>/signing-key.pem`, else a new one written there — so a
//! restart keeps the same `kid` and tokens already issued stay valid.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use p256::SecretKey;
use rand_core::OsRng;

use super::config::{Config, KEY_FILE_NAME};

/// Parses a P-256 private key in PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1
/// (`BEGIN EC PRIVATE KEY`, what `openssl ecparam -genkey` writes) PEM.
pub fn parse_pem(pem: &str) -> Result<SigningKey, String> {
    let secret = SecretKey::from_pkcs8_pem(pem)
        .or_else(|_| SecretKey::from_sec1_pem(pem))
        .map_err(|_| {
            "not a P-256 (prime256v1) private key in PKCS#8 or SEC1 PEM; \
             e.g. openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
                .to_owned()
        })?;
    Ok(SigningKey::from(secret))
}

/// Returns the key and where it came from (for the startup line).
pub fn load_or_create(config: &Config) -> Result<(SigningKey, String), String> {
    if let Some(value) = &config.signing_key {
        if value.trim_start().starts_with("-----BEGIN") {
            let key = parse_pem(value).map_err(|e| format!("DEMO_SIGNING_KEY: {e}"))?;
            return Ok((key, "from DEMO_SIGNING_KEY".to_owned()));
        }
        let pem = std::fs::read_to_string(value)
            .map_err(|e| format!("DEMO_SIGNING_KEY: cannot read {value:?}: {e}"))?;
        let key = parse_pem(&pem).map_err(|e| format!("DEMO_SIGNING_KEY {value:?}: {e}"))?;
        return Ok((key, format!("from {value}")));
    }
    let path = config.data_dir.join(KEY_FILE_NAME);
    load_or_create_file(&path)
}

fn load_or_create_file(path: &Path) -> Result<(SigningKey, String), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let secret = SecretKey::random(&mut OsRng);
    let pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the new key: {e}"))?;
    // create_new + 0600: never overwrite a key another instance just wrote, never let
    // other local users read it.
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            file.write_all(pem.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok((
                SigningKey::from(secret),
                format!("generated into {}", path.display()),
            ))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let key = parse_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((key, format!("from {}", path.display())))
        }
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persisted_key_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k").join(KEY_FILE_NAME);
        let (a, how_a) = load_or_create_file(&path).unwrap();
        let (b, how_b) = load_or_create_file(&path).unwrap();
        assert!(how_a.starts_with("generated"));
        assert!(how_b.starts_with("from"));
        assert_eq!(a.verifying_key(), b.verifying_key());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn sec1_and_pkcs8_pems_parse_garbage_does_not() {
        let secret = SecretKey::random(&mut OsRng);
        let pkcs8 = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let sec1 = secret.to_sec1_pem(LineEnding::LF).unwrap();
        assert_eq!(parse_pem(&pkcs8).unwrap(), SigningKey::from(&secret));
        assert_eq!(parse_pem(&sec1).unwrap(), SigningKey::from(&secret));
        assert!(
            parse_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").is_err()
        );
    }
}
