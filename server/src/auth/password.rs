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
    /// Too many password checks at once (a flood of sign-ins): try again shortly.
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
}

/// Password checks running at once: each takes 19 MiB and a core for ~50 ms, so a
/// flood of sign-ins (or Sub Manager page sign-ins) waits here instead of exhausting
/// memory.
pub const CONCURRENT_CHECKS: usize = 4;
/// How long a check waits for its turn before it is refused as busy.
const WAIT_FOR_TURN: std::time::Duration = std::time::Duration::from_secs(5);

fn turns() -> &'static tokio::sync::Semaphore {
    static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_CHECKS);
    &TURNS
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
/// checked so that the answer takes as long as for a real user. At most
/// [`CONCURRENT_CHECKS`] run at once; one that waits longer than 5 s for its turn is
/// refused ([`PasswordError::Busy`]).
pub async fn verify(hash: Option<String>, password: &str) -> Result<bool, PasswordError> {
    let _turn = tokio::time::timeout(WAIT_FOR_TURN, turns().acquire())
        .await
        .map_err(|_| PasswordError::Busy)?
        .map_err(|_| PasswordError::Busy)?;
    let p = password.to_string();
    Ok(tokio::task::spawn_blocking(move || match hash {
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
    .unwrap_or(false))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = super::hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify(Some(h.clone()), "correct horse")
            .await
            .unwrap());
        assert!(!super::verify(Some(h), "wrong").await.unwrap());
        assert!(!super::verify(None, "anything").await.unwrap());
        assert!(!super::verify(Some("not a hash".into()), "x").await.unwrap());
    }

    #[tokio::test]
    async fn a_flood_of_checks_runs_a_few_at_a_time_and_waiters_past_their_turn_are_refused() {
        // Hold every turn: the next check waits, then is refused as busy.
        let held = super::turns()
            .acquire_many(super::CONCURRENT_CHECKS as u32)
            .await
            .unwrap();
        let t = std::time::Instant::now();
        let r = super::verify(None, "x").await;
        assert!(matches!(r, Err(super::PasswordError::Busy)), "{r:?}");
        assert!(t.elapsed() >= std::time::Duration::from_secs(4));
        drop(held);
        assert!(!super::verify(None, "x").await.unwrap());
    }
}
