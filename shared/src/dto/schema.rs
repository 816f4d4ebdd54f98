//! OpenAPI schemas of request fields whose limits the server enforces, built from the
//! very constants of [`crate::validate`] (and the DTOs' own limits) so that the API
//! document and the checks cannot drift apart. Used through
//! `#[schema(schema_with = …)]` on the DTOs' fields (feature `openapi` only).

use crate::dto::script::SCRIPT_BODY_MAX;
use crate::validate::{
    COMPANY_CODE_MAX, EMAIL_MAX, HOST_ADDRESS_MAX, LOGIN_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN,
    PHONE_MAX, SECRET_MAX, TEXT_MAX,
};
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

/// No control characters but tab, line feed and carriage return (what
/// [`crate::validate::optional_text`] refuses).
const NO_CONTROL: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

fn string(min: usize, max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
}

fn or_null(b: ObjectBuilder) -> Object {
    b.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .build()
}

/// A required name (`validate::required_text`, `NAME_MAX`).
pub fn name() -> Object {
    string(1, NAME_MAX).pattern(Some(NO_CONTROL)).build()
}

/// An optional short text (`validate::optional_text`, `NAME_MAX`).
pub fn short_text() -> Object {
    string(0, NAME_MAX).pattern(Some(NO_CONTROL)).build()
}

/// An optional long text, comments and descriptions (`TEXT_MAX`).
pub fn text() -> Object {
    string(0, TEXT_MAX).pattern(Some(NO_CONTROL)).build()
}

/// A required long text, URLs (`TEXT_MAX`).
pub fn required_text() -> Object {
    string(1, TEXT_MAX).pattern(Some(NO_CONTROL)).build()
}

/// A login name as typed at sign-in (`LOGIN_MAX`).
pub fn login() -> Object {
    string(1, LOGIN_MAX).pattern(Some(NO_CONTROL)).build()
}

/// A new login name (`validate::identifier`): letters, digits, `.`, `_`, `-`, `@`.
pub fn identifier() -> Object {
    string(1, LOGIN_MAX)
        .pattern(Some("^[A-Za-z0-9._@-]+$"))
        .build()
}

/// A company code (`validate::company_code`): letters, digits, `-`, `_`.
pub fn company_code() -> Object {
    string(1, COMPANY_CODE_MAX)
        .pattern(Some("^[A-Za-z0-9_-]+$"))
        .build()
}

/// The company code at sign-in; may be omitted (null) with one company.
pub fn company_code_or_null() -> Object {
    or_null(string(1, COMPANY_CODE_MAX).pattern(Some("^[A-Za-z0-9_-]+$")))
}

/// An optional account name (`LOGIN_MAX`).
pub fn username() -> Object {
    string(0, LOGIN_MAX).pattern(Some(NO_CONTROL)).build()
}

/// A required account name (`LOGIN_MAX`).
pub fn required_username() -> Object {
    login()
}

/// A new password (`validate::password`).
pub fn password() -> Object {
    string(PASSWORD_MIN, PASSWORD_MAX).build()
}

/// A new password, or null to keep the stored one.
pub fn password_or_null() -> Object {
    or_null(string(PASSWORD_MIN, PASSWORD_MAX))
}

/// A password typed at sign-in: anything non-empty.
pub fn password_given() -> Object {
    string(1, PASSWORD_MAX).build()
}

/// An optional e-mail address (`validate::email`); empty is allowed.
pub fn email() -> Object {
    string(0, EMAIL_MAX)
        .pattern(Some("^$|^[^\\s@]+@[^\\s.]\\S*\\.\\S*[^\\s.]$"))
        .build()
}

/// An optional phone number (`validate::phone`).
pub fn phone() -> Object {
    string(0, PHONE_MAX).pattern(Some("^[0-9 +()-]*$")).build()
}

/// A host name or address of a terminal (`HOST_ADDRESS_MAX`).
pub fn host_address() -> Object {
    string(1, HOST_ADDRESS_MAX)
        .pattern(Some(NO_CONTROL))
        .build()
}

/// A short secret (WeChat appSecret); null keeps the stored one, empty clears it.
pub fn secret_or_null() -> Object {
    or_null(string(0, SECRET_MAX).pattern(Some(NO_CONTROL)))
}

/// An optional short identifier issued elsewhere (WeChat appId).
pub fn app_id() -> Object {
    string(0, crate::validate::APP_ID_MAX)
        .pattern(Some(NO_CONTROL))
        .build()
}

/// A script's code (`SCRIPT_BODY_MAX` bytes at most; characters are at least one).
pub fn script_body() -> Object {
    string(1, SCRIPT_BODY_MAX).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    use utoipa::PartialSchema;

    fn field(schema: RefOr<Schema>, name: &str) -> Object {
        let RefOr::T(Schema::Object(o)) = schema else {
            panic!("not an object schema")
        };
        match o.properties.get(name) {
            Some(RefOr::T(Schema::Object(f))) => f.clone(),
            _ => panic!("{name}: not an inline object schema"),
        }
    }

    #[test]
    fn request_fields_carry_the_limits_of_validate() {
        let login = field(crate::dto::user::UserCreate::schema(), "login");
        assert_eq!(login.max_length, Some(LOGIN_MAX));
        assert_eq!(login.min_length, Some(1));
        let pw = field(crate::dto::user::UserCreate::schema(), "password");
        assert_eq!(
            (pw.min_length, pw.max_length),
            (Some(PASSWORD_MIN), Some(PASSWORD_MAX))
        );
        let name = field(crate::dto::group::GroupInput::schema(), "name");
        assert_eq!(name.max_length, Some(NAME_MAX));
        let code = field(
            crate::dto::platform::PlatformCompanyCreate::schema(),
            "code",
        );
        assert_eq!(code.max_length, Some(COMPANY_CODE_MAX));
        assert!(code.pattern.is_some());
    }
}
