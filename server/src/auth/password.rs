//! Argon2id password hashes. Hashing runs on the blocking pool.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed")]
    Join,
}

fn hash_sync(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

fn verify_sync(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// An argon2id PHC string for `password`.
pub async fn hash(password: &str) -> Result<String, PasswordError> {
    let p = password.to_string();
    tokio::task::spawn_blocking(move || hash_sync(&p))
        .await
        .map_err(|_| PasswordError::Join)?
}

/// Whether `password` matches `hash`. With `hash = None` (unknown user) a dummy hash is
/// checked so that the answer takes as long as for a real user.
pub async fn verify(hash: Option<String>, password: &str) -> bool {
    let p = password.to_string();
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_sync(&h, &p),
        None => {
            static DUMMY: OnceLock<String> = OnceLock::new();
            let d =
                DUMMY.get_or_init(|| hash_sync("dummy password for timing").unwrap_or_default());
            let _ = verify_sync(d, &p);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = super::hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify(Some(h.clone()), "correct horse").await);
        assert!(!super::verify(Some(h), "wrong").await);
        assert!(!super::verify(None, "anything").await);
        assert!(!super::verify(Some("not a hash".into()), "x").await);
    }
}
