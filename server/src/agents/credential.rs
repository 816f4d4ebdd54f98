//! Agent credentials: `h<host id>.<32 random bytes, base64url>`, shown once (and
//! written into the download), stored only as a SHA-256 hash. High-entropy random
//! secrets need no slow hash; rotating replaces the hash and revokes the old one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn issue(host_id: i64) -> String {
    let mut k = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut k);
    format!("h{host_id}.{}", B64.encode(k))
}

pub fn hash(credential: &str) -> String {
    Sha256::digest(credential.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A hash no credential has (for a host created before its credential is issued).
pub fn unusable() -> String {
    format!("!{}", hash(&issue(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_unique_and_only_their_hash_matches() {
        let a = issue(7);
        let b = issue(7);
        assert!(a.starts_with("h7."));
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&format!(" {a}\n")));
        assert_ne!(hash(&a), hash(&b));
        assert!(!hash(&a).contains(&a));
        assert_ne!(unusable(), hash(&a));
    }
}
