//! Encrypts secrets (WeChat appSecret, later terminal passwords and keys, data source
//! passwords) with AES-256-GCM. Stored form: `v1:` + base64(nonce ‖ ciphertext).

use aes_gcm::aead::{Aead, KeyInit};
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
    #[error("stored secret cannot be decrypted with this key")]
    Decrypt,
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

const PREFIX: &str = "v1:";

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

    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and a 12-byte nonce cannot fail.
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    pub fn open(&self, stored: &str) -> Result<String, SecretError> {
        let body = stored.strip_prefix(PREFIX).ok_or(SecretError::Malformed)?;
        let bytes = B64.decode(body).map_err(|_| SecretError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(SecretError::Malformed);
        }
        let (nonce, ct) = bytes.split_at(12);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| SecretError::Decrypt)?;
        String::from_utf8(pt).map_err(|_| SecretError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let a = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let b = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let sealed = a.seal("wx-app-secret");
        assert!(!sealed.contains("wx-app-secret"));
        assert_ne!(sealed, a.seal("wx-app-secret"), "nonces differ");
        assert_eq!(a.open(&sealed).unwrap(), "wx-app-secret");
        assert!(matches!(b.open(&sealed), Err(SecretError::Decrypt)));
        assert!(matches!(a.open("garbage"), Err(SecretError::Malformed)));
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
