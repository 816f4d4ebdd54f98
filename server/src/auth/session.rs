//! Session tokens: a random 256-bit token in an HttpOnly, SameSite=Strict cookie; the
//! store keeps only its SHA-256. Each session carries its own CSRF token.

use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "lwams_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const LANG_COOKIE: &str = "lwams_lang";

/// A fresh random token (URL-safe base64 of 32 bytes).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    B64.encode(b)
}

/// What the store keeps of a cookie token.
pub fn token_hash(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn cookie(token: String, secure: bool, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build((COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .max_age(time_duration(max_age_secs))
        .build()
}

/// The UI-language cookie, read by server-side rendering (not a secret, so readable).
pub fn lang_cookie(locale: shared::Locale, secure: bool) -> Cookie<'static> {
    Cookie::build((LANG_COOKIE, locale.tag().to_string()))
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(time_duration(365 * 24 * 3600))
        .build()
}

pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    cookie(String::new(), secure, 0)
}

fn time_duration(secs: i64) -> time::Duration {
    time::Duration::seconds(secs)
}

/// Constant-time comparison of two tokens.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed_to_hex() {
        let a = new_token();
        assert_ne!(a, new_token());
        assert_eq!(a.len(), 43);
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a));
        assert!(tokens_equal(&a, &a.clone()));
        assert!(!tokens_equal(&a, &new_token()));
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site_strict() {
        let c = cookie("t".into(), false, 60).to_string();
        assert!(c.contains("HttpOnly"));
        assert!(c.contains("SameSite=Strict"));
        assert!(c.contains("Path=/"));
    }
}
