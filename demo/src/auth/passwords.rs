//! Argon2id password hashing (the argon2 crate's defaults: OWASP's m=19 MiB, t=2, p=1).
//! Hashing is deliberately slow, so both directions run on the blocking pool.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand_core::RngCore;

/// Hashes `password` into a PHC string with a random salt.
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| format!("hash task: {e}"))?
}

fn hash_blocking(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2: {e}"))
}

/// True if `password` matches the PHC string `hash`. A malformed stored hash counts as a
/// mismatch (and is reported to the operator), never as a success.
pub async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            eprintln!("auth-api: stored password hash is not a PHC string: {e}");
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// The hash of a random password nobody knows, for constant-time-ish unknown-user logins.
pub async fn dummy_hash() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hash(random).await
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hash_then_verify() {
        let h = super::hash("s3cret".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$"));
        assert!(super::verify("s3cret".into(), h.clone()).await);
        assert!(!super::verify("S3cret".into(), h).await);
        assert!(!super::verify("s3cret".into(), "not-a-hash".into()).await);
    }
}
