//! Field validation rules shared by the server (authoritative) and the browser app
//! (early feedback). Every failure names the field it is about.

use serde::{Deserialize, Serialize};

/// A validation failure: which field, and why (an English sentence; the app may
/// translate by `code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub code: FieldErrorCode,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldErrorCode {
    Required,
    TooLong,
    TooShort,
    Invalid,
    Duplicate,
    NotAllowed,
}

impl FieldError {
    pub fn new(field: &str, code: FieldErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            code,
            message: message.into(),
        }
    }
}

pub const NAME_MAX: usize = 100;
pub const LOGIN_MAX: usize = 64;
pub const TEXT_MAX: usize = 1000;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 256;
/// The longest e-mail address (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;
/// The longest phone number.
pub const PHONE_MAX: usize = 32;
/// The longest host name or address of a terminal.
pub const HOST_ADDRESS_MAX: usize = 255;
/// The longest application id issued by another service (WeChat appId).
pub const APP_ID_MAX: usize = 64;
/// The longest short secret of another service (WeChat appSecret).
pub const SECRET_MAX: usize = 128;

/// A required single-line text: trimmed, non-empty, at most `max` characters, no
/// control characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(
            field,
            FieldErrorCode::Required,
            "is required",
        ));
    }
    optional_text(field, v, max)
}

/// An optional text: at most `max` characters, no control characters but newlines/tabs.
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    let n = v.chars().count();
    if n > max {
        return Err(FieldError::new(
            field,
            FieldErrorCode::TooLong,
            format!("is {n} characters long; at most {max} are allowed"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(FieldError::new(
            field,
            FieldErrorCode::Invalid,
            "contains control characters",
        ));
    }
    Ok(v.to_string())
}

/// A login name or company code: 1–64 of letters, digits, `.`, `_`, `-`, `@`.
pub fn identifier(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = required_text(field, value, max)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(FieldError::new(
            field,
            FieldErrorCode::Invalid,
            "may contain only letters, digits and . _ - @",
        ));
    }
    Ok(v)
}

/// The longest company code.
pub const COMPANY_CODE_MAX: usize = 32;

/// A company code (typed at sign-in, sent by Sub Managers): 1–32 letters, digits, `-`
/// and `_`.
pub fn company_code(field: &str, value: &str) -> Result<String, FieldError> {
    let v = required_text(field, value, COMPANY_CODE_MAX)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    {
        return Err(FieldError::new(
            field,
            FieldErrorCode::Invalid,
            "may contain only letters, digits, - and _",
        ));
    }
    Ok(v)
}

/// A new id for a diagram element: an XML name that `${id.result}` can address — a
/// letter or `_` first, then letters, digits, `_` or `-` — and not used by another
/// element of the diagram (`taken`, which may hold the element's current id).
pub fn element_id(value: &str, current: &str, taken: &[String]) -> Result<String, FieldError> {
    let v = required_text("id", value, NAME_MAX)?;
    let mut chars = v.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')) {
        return Err(FieldError::new(
            "id",
            FieldErrorCode::Invalid,
            "must start with a letter or _ and contain only letters, digits, _ and -",
        ));
    }
    if v != current && taken.contains(&v) {
        return Err(FieldError::new(
            "id",
            FieldErrorCode::Duplicate,
            format!("{v} is already the id of another element"),
        ));
    }
    Ok(v)
}

/// An optional e-mail address (empty is allowed).
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let v = optional_text(field, value, EMAIL_MAX)?;
    if v.is_empty() {
        return Ok(v);
    }
    let ok = match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !v.contains(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            FieldErrorCode::Invalid,
            "is not an e-mail address",
        ))
    }
}

/// An optional phone number: digits, spaces and `+-()`, at most 32 characters.
pub fn phone(field: &str, value: &str) -> Result<String, FieldError> {
    let v = optional_text(field, value, PHONE_MAX)?;
    if v.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'))
    {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            FieldErrorCode::Invalid,
            "may contain only digits, spaces and + - ( )",
        ))
    }
}

/// A new password: 8–256 characters, not only whitespace.
pub fn password(field: &str, value: &str) -> Result<(), FieldError> {
    let n = value.chars().count();
    if value.trim().is_empty() {
        return Err(FieldError::new(
            field,
            FieldErrorCode::Required,
            "is required",
        ));
    }
    if n < PASSWORD_MIN {
        return Err(FieldError::new(
            field,
            FieldErrorCode::TooShort,
            format!("must be at least {PASSWORD_MIN} characters long"),
        ));
    }
    if n > PASSWORD_MAX {
        return Err(FieldError::new(
            field,
            FieldErrorCode::TooLong,
            format!("must be at most {PASSWORD_MAX} characters long"),
        ));
    }
    Ok(())
}

/// What one form field accepts. The server checks a request with it (authoritative);
/// the app sets the input's `required`, `minlength` and `maxlength` from it and checks
/// as the user types — one source of limits and messages for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Trimmed, non-empty, at most `max` characters, no control characters.
    RequiredText { max: usize },
    /// At most `max` characters, no control characters but newlines and tabs.
    OptionalText { max: usize },
    /// A login name: 1–`max` letters, digits, `.`, `_`, `-`, `@`.
    Identifier { max: usize },
    /// A company code: 1–32 letters, digits, `-` and `_`.
    CompanyCode,
    /// An optional e-mail address.
    Email,
    /// An optional phone number.
    Phone,
    /// A new password, required.
    Password,
    /// A new password, or empty to keep the current one.
    OptionalPassword,
}

impl Rule {
    /// Whether an empty value is refused.
    pub const fn required(self) -> bool {
        matches!(
            self,
            Rule::RequiredText { .. }
                | Rule::Identifier { .. }
                | Rule::CompanyCode
                | Rule::Password
        )
    }

    /// The most characters the field takes.
    pub const fn max_chars(self) -> usize {
        match self {
            Rule::RequiredText { max } | Rule::OptionalText { max } | Rule::Identifier { max } => {
                max
            }
            Rule::CompanyCode => COMPANY_CODE_MAX,
            Rule::Email => EMAIL_MAX,
            Rule::Phone => PHONE_MAX,
            Rule::Password | Rule::OptionalPassword => PASSWORD_MAX,
        }
    }

    /// The fewest characters a non-empty value must have.
    pub const fn min_chars(self) -> Option<usize> {
        match self {
            Rule::Password | Rule::OptionalPassword => Some(PASSWORD_MIN),
            _ => None,
        }
    }

    /// The value as it is stored (trimmed where the rule trims), or why not.
    pub fn check(self, field: &str, value: &str) -> Result<String, FieldError> {
        match self {
            Rule::RequiredText { max } => required_text(field, value, max),
            Rule::OptionalText { max } => optional_text(field, value, max),
            Rule::Identifier { max } => identifier(field, value, max),
            Rule::CompanyCode => company_code(field, value),
            Rule::Email => email(field, value),
            Rule::Phone => phone(field, value),
            Rule::Password => password(field, value).map(|()| value.to_string()),
            Rule::OptionalPassword if value.is_empty() => Ok(String::new()),
            Rule::OptionalPassword => password(field, value).map(|()| value.to_string()),
        }
    }
}

/// The rule of every field of the forms, by form: what the server checks and what the
/// app's inputs show.
pub mod fields {
    use super::*;

    pub const USER_LOGIN: Rule = Rule::Identifier { max: LOGIN_MAX };
    pub const USER_DISPLAY_NAME: Rule = Rule::RequiredText { max: NAME_MAX };
    pub const USER_PASSWORD: Rule = Rule::Password;
    /// A user's password on the edit form: empty keeps it.
    pub const USER_NEW_PASSWORD: Rule = Rule::OptionalPassword;
    pub const USER_EMAIL: Rule = Rule::Email;
    pub const USER_PHONE: Rule = Rule::Phone;
    pub const GROUP_NAME: Rule = Rule::RequiredText { max: NAME_MAX };
    pub const GROUP_DESCRIPTION: Rule = Rule::OptionalText { max: TEXT_MAX };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_codes_are_letters_digits_dash_and_underscore_up_to_32() {
        assert_eq!(company_code("code", " acme-2_b ").unwrap(), "acme-2_b");
        assert_eq!(company_code("code", &"a".repeat(32)).unwrap().len(), 32);
        assert_eq!(
            company_code("code", &"a".repeat(33)).unwrap_err().code,
            FieldErrorCode::TooLong
        );
        assert_eq!(
            company_code("code", "").unwrap_err().code,
            FieldErrorCode::Required
        );
        for bad in ["a b", "a.b", "a@b", "a/b", "ä"] {
            let e = company_code("code", bad).unwrap_err();
            assert_eq!(e.code, FieldErrorCode::Invalid, "{bad}");
            assert_eq!(e.field, "code");
        }
    }

    #[test]
    fn required_text_trims_and_rejects_empty_and_long() {
        assert_eq!(required_text("name", "  ops  ", 10).unwrap(), "ops");
        assert_eq!(
            required_text("name", "   ", 10).unwrap_err().code,
            FieldErrorCode::Required
        );
        let e = required_text("name", &"x".repeat(11), 10).unwrap_err();
        assert_eq!(e.field, "name");
        assert_eq!(e.code, FieldErrorCode::TooLong);
        assert_eq!(
            required_text("name", "a\u{0}b", 10).unwrap_err().code,
            FieldErrorCode::Invalid
        );
    }

    #[test]
    fn identifiers_emails_phones_and_passwords() {
        assert!(identifier("login", "user.1-a_b@x", 64).is_ok());
        assert!(identifier("login", "bad name", 64).is_err());
        assert!(email("email", "").is_ok());
        assert!(email("email", "ops@example.com").is_ok());
        assert!(email("email", "ops@localhost").is_err());
        assert!(email("email", "no-at-sign").is_err());
        assert!(phone("phone", "+86 (10) 1234-5678").is_ok());
        assert!(phone("phone", "12ab").is_err());
        assert!(password("password", "short").is_err());
        assert!(password("password", "long enough").is_ok());
        assert!(password("password", "        ").is_err());
    }

    #[test]
    fn element_ids_are_xml_names_unique_in_the_diagram() {
        let taken = vec!["start".to_string(), "check".to_string()];
        assert_eq!(element_id(" check_2 ", "check", &taken).unwrap(), "check_2");
        assert_eq!(element_id("check", "check", &taken).unwrap(), "check");
        let dup = element_id("start", "check", &taken).unwrap_err();
        assert_eq!(
            (dup.field.as_str(), dup.code),
            ("id", FieldErrorCode::Duplicate)
        );
        for bad in ["", "1st", "a.b", "a b", "x:y", "é"] {
            let e = element_id(bad, "check", &taken).unwrap_err();
            assert_eq!(e.field, "id", "{bad:?}");
        }
    }

    #[test]
    fn rules_state_their_limits_and_check_like_the_functions() {
        use fields::*;
        assert!(USER_LOGIN.required());
        assert_eq!(USER_LOGIN.max_chars(), LOGIN_MAX);
        assert!(!USER_EMAIL.required());
        assert_eq!(USER_PASSWORD.min_chars(), Some(PASSWORD_MIN));
        assert_eq!(GROUP_DESCRIPTION.max_chars(), TEXT_MAX);
        assert_eq!(
            USER_DISPLAY_NAME.check("display_name", " Ops ").unwrap(),
            "Ops"
        );
        assert_eq!(
            USER_LOGIN.check("login", "a b").unwrap_err(),
            identifier("login", "a b", LOGIN_MAX).unwrap_err()
        );
        assert_eq!(
            GROUP_NAME
                .check("name", &"x".repeat(NAME_MAX + 1))
                .unwrap_err()
                .code,
            FieldErrorCode::TooLong
        );
    }

    #[test]
    fn an_empty_new_password_keeps_the_old_one_but_a_short_one_is_refused() {
        assert_eq!(fields::USER_NEW_PASSWORD.check("password", "").unwrap(), "");
        assert_eq!(
            fields::USER_NEW_PASSWORD
                .check("password", "short")
                .unwrap_err()
                .code,
            FieldErrorCode::TooShort
        );
        assert_eq!(
            fields::USER_PASSWORD
                .check("password", "")
                .unwrap_err()
                .code,
            FieldErrorCode::Required
        );
    }
}
