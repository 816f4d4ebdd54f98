//! Encrypts secrets at rest (terminal passwords and keys, data-source passwords, host
//! credentials, the WeChat secret) with AES-256-GCM under the server's key.
//!
//! Stored form: `v2:` + base64(nonce ‖ ciphertext), sealed with **associated data**
//! naming where the value lives — `table:column:company:id` ([`SealedAt`]) — so a value
//! copied into another row, column or company does not open. `v1:` values (before
//! associated data) are opened only by [`SecretBox::open_v1`], which the re-seal at
//! start uses to convert them (`store::sealed::upgrade`).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret key must be 32 bytes, base64-encoded (got {0} bytes)")]
    BadKey(usize),
    #[error("secret key is not valid base64")]
    KeyNotBase64,
    #[error("stored secret is malformed")]
    Malformed,
    #[error("stored secret cannot be decrypted with this key for {0}")]
    Decrypt(String),
    #[error("stored secret for {0} is of the old form (v1:) not yet re-sealed: restart the server to re-seal it")]
    Legacy(String),
}

/// Where a sealed value lives: bound into the ciphertext as associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedAt<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub company_id: i64,
    pub id: i64,
}

impl std::fmt::Display for SealedAt<'_> {
    /// `table:column:company:id`, the associated data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.table, self.column, self.company_id, self.id
        )
    }
}

/// Holds the key; `Debug` never prints it.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

const PREFIX_V1: &str = "v1:";
const PREFIX: &str = "v2:";

/// Whether a stored value is of the old form, sealed without associated data.
pub fn is_v1(stored: &str) -> bool {
    stored.starts_with(PREFIX_V1)
}

impl SecretBox {
    /// From a base64-encoded 32-byte key.
    pub fn from_base64(key: &str) -> Result<SecretBox, SecretError> {
        let bytes = B64
            .decode(key.trim())
            .map_err(|_| SecretError::KeyNotBase64)?;
        if bytes.len() != 32 {
            return Err(SecretError::BadKey(bytes.len()));
        }
        Ok(SecretBox {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)),
        })
    }

    /// A fresh random key, base64-encoded.
    pub fn generate_key() -> String {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        B64.encode(k)
    }

    /// Seals `plaintext` for the place `at` (`v2:`).
    pub fn seal(&self, at: &SealedAt<'_>, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = at.to_string();
        // Encryption with a valid key and a 12-byte nonce cannot fail.
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Opens a value sealed for the place `at`; a value sealed for another place (or
    /// under another key) does not open, nor does an old `v1:` value.
    pub fn open(&self, at: &SealedAt<'_>, stored: &str) -> Result<String, SecretError> {
        if is_v1(stored) {
            return Err(SecretError::Legacy(at.to_string()));
        }
        let body = stored.strip_prefix(PREFIX).ok_or(SecretError::Malformed)?;
        let aad = at.to_string();
        self.decrypt(body, aad.as_bytes())
            .map_err(|e| e.unwrap_or(SecretError::Decrypt(aad)))
    }

    /// Opens an old `v1:` value (sealed without associated data), to re-seal it.
    pub fn open_v1(&self, stored: &str) -> Result<String, SecretError> {
        let body = stored
            .strip_prefix(PREFIX_V1)
            .ok_or(SecretError::Malformed)?;
        self.decrypt(body, b"")
            .map_err(|e| e.unwrap_or_else(|| SecretError::Decrypt("a v1 value".into())))
    }

    /// Opens a value of either form for `at` (key rotation and the re-seal).
    pub fn open_any(&self, at: &SealedAt<'_>, stored: &str) -> Result<String, SecretError> {
        if is_v1(stored) {
            self.open_v1(stored)
        } else {
            self.open(at, stored)
        }
    }

    /// `Err(None)`: the decryption failed (the caller names what).
    fn decrypt(&self, body: &str, aad: &[u8]) -> Result<String, Option<SecretError>> {
        let bytes = B64.decode(body).map_err(|_| Some(SecretError::Malformed))?;
        if bytes.len() < 12 + 16 {
            return Err(Some(SecretError::Malformed));
        }
        let (nonce, ct) = bytes.split_at(12);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| None)?;
        String::from_utf8(pt).map_err(|_| Some(SecretError::Malformed))
    }

    /// Seals the old way (no associated data), for tests of the re-seal only.
    #[doc(hidden)]
    pub fn seal_v1_for_tests(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX_V1}{}", B64.encode(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: SealedAt<'static> = SealedAt {
        table: "terminal_users",
        column: "secret",
        company_id: 1,
        id: 7,
    };

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let a = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let b = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let sealed = a.seal(&AT, "wx-app-secret");
        assert!(sealed.starts_with("v2:"));
        assert!(!sealed.contains("wx-app-secret"));
        assert_ne!(sealed, a.seal(&AT, "wx-app-secret"), "nonces differ");
        assert_eq!(a.open(&AT, &sealed).unwrap(), "wx-app-secret");
        assert!(matches!(b.open(&AT, &sealed), Err(SecretError::Decrypt(_))));
        assert!(matches!(
            a.open(&AT, "garbage"),
            Err(SecretError::Malformed)
        ));
    }

    #[test]
    fn a_sealed_value_copied_to_another_row_column_or_company_does_not_open() {
        let k = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let sealed = k.seal(&AT, "root-password");
        for elsewhere in [
            SealedAt { id: 8, ..AT },
            SealedAt {
                company_id: 2,
                ..AT
            },
            SealedAt {
                column: "passphrase",
                ..AT
            },
            SealedAt {
                table: "data_sources",
                column: "password",
                ..AT
            },
        ] {
            match k.open(&elsewhere, &sealed) {
                Err(SecretError::Decrypt(at)) => assert_eq!(at, elsewhere.to_string()),
                other => panic!("{elsewhere}: {other:?}"),
            }
        }
        assert_eq!(AT.to_string(), "terminal_users:secret:1:7");
    }

    #[test]
    fn an_old_v1_value_opens_only_to_be_resealed() {
        let k = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let old = k.seal_v1_for_tests("pw");
        assert!(is_v1(&old));
        // Not through the normal path: a v1 value bound to no row could be copied anywhere.
        assert!(matches!(k.open(&AT, &old), Err(SecretError::Legacy(_))));
        assert_eq!(k.open_v1(&old).unwrap(), "pw");
        assert_eq!(k.open_any(&AT, &old).unwrap(), "pw");
        let resealed = k.seal(&AT, &k.open_v1(&old).unwrap());
        assert_eq!(k.open(&AT, &resealed).unwrap(), "pw");
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(matches!(
            SecretBox::from_base64("AAAA"),
            Err(SecretError::BadKey(3))
        ));
        assert!(matches!(
            SecretBox::from_base64("***"),
            Err(SecretError::KeyNotBase64)
        ));
    }
}
