//! Form fields driven by `shared::validate` rules: the input's `required`,
//! `minlength` and `maxlength` come from the field's rule (the one the server checks),
//! and a value the rule refuses is named under the input once the user has left it,
//! in the UI language (`field-*` labels, by the failure's code).

use crate::api::ApiError;
use crate::i18n::{translate, use_i18n};
use leptos::prelude::*;
use shared::dto::error::ErrorBody;
use shared::validate::{FieldError, FieldErrorCode, Rule};
use shared::Locale;

/// The label key and arguments saying why `rule` refused a value.
pub fn message_key(rule: Rule, e: &FieldError) -> (&'static str, Vec<(&'static str, String)>) {
    match e.code {
        FieldErrorCode::Required => ("field-required", vec![]),
        FieldErrorCode::TooLong => (
            "field-too-long",
            vec![("max", rule.max_chars().to_string())],
        ),
        FieldErrorCode::TooShort => (
            "field-too-short",
            vec![("min", rule.min_chars().unwrap_or(0).to_string())],
        ),
        FieldErrorCode::Invalid => (
            match rule {
                Rule::Identifier { .. } => "field-invalid-identifier",
                Rule::CompanyCode => "field-invalid-company-code",
                Rule::Email => "field-invalid-email",
                Rule::Phone => "field-invalid-phone",
                Rule::RequiredText { .. }
                | Rule::OptionalText { .. }
                | Rule::Password
                | Rule::OptionalPassword => "field-invalid-text",
            },
            vec![],
        ),
        FieldErrorCode::Duplicate => ("field-duplicate", vec![]),
        FieldErrorCode::NotAllowed => ("field-not-allowed", vec![]),
    }
}

/// "Label: why", in `locale`.
pub fn message(locale: Locale, label: &str, rule: Rule, e: &FieldError) -> String {
    let (key, args) = message_key(rule, e);
    format!("{label}: {}", translate(locale, key, &args))
}

/// One field of a form, for checking them all before sending.
pub struct Checked<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub rule: Rule,
    pub value: String,
}

/// The first field its rule refuses, as the error a refused request would show
/// (translated; the field named).
pub fn first_problem(locale: Locale, fields: &[Checked<'_>]) -> Option<ApiError> {
    fields.iter().find_map(|f| {
        f.rule.check(f.name, &f.value).err().map(|e| ApiError {
            status: 422,
            body: ErrorBody {
                error: "validation".into(),
                message: message(locale, &translate(locale, f.label, &[]), f.rule, &e),
                field: Some(e.field),
            },
        })
    })
}

/// A labelled text input checked by `rule`. `label` is a label key; `kind` the input
/// type (`text` when empty).
#[component]
pub fn TextField(
    label: &'static str,
    name: &'static str,
    rule: Rule,
    value: RwSignal<String>,
    #[prop(optional)] kind: &'static str,
    #[prop(optional)] disabled: bool,
    #[prop(optional)] autocomplete: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let touched = RwSignal::new(false);
    let problem = move || {
        if !touched.get() {
            return None;
        }
        let locale = i18n.locale.get();
        value.with(|v| rule.check(name, v)).err().map(|e| {
            let label = translate(locale, label, &[]);
            message(locale, &label, rule, &e)
        })
    };
    let kind = if kind.is_empty() { "text" } else { kind };
    let autocomplete = (!autocomplete.is_empty()).then_some(autocomplete);
    view! {
        <label>
            <span>{move || translate(i18n.locale.get(), label, &[])}</span>
            <input
                name=name
                type=kind
                required=rule.required()
                maxlength=rule.max_chars().to_string()
                minlength=rule.min_chars().map(|n| n.to_string())
                autocomplete=autocomplete
                disabled=disabled
                aria-invalid=move || problem().is_some().then_some("true")
                bind:value=value
                on:blur=move |_| touched.set(true)
            />
            {move || problem().map(|m| view! { <small class="error" data-field-error=name>{m}</small> })}
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::validate::{fields, LOGIN_MAX, PASSWORD_MIN};

    fn refused(rule: Rule, value: &str) -> FieldError {
        rule.check("f", value).unwrap_err()
    }

    #[test]
    fn each_refusal_has_a_label_with_the_rule_s_limit() {
        let long = "x".repeat(LOGIN_MAX + 1);
        assert_eq!(
            message_key(fields::USER_LOGIN, &refused(fields::USER_LOGIN, &long)),
            ("field-too-long", vec![("max", LOGIN_MAX.to_string())])
        );
        assert_eq!(
            message_key(
                fields::USER_PASSWORD,
                &refused(fields::USER_PASSWORD, "short")
            ),
            ("field-too-short", vec![("min", PASSWORD_MIN.to_string())])
        );
        assert_eq!(
            message_key(fields::USER_LOGIN, &refused(fields::USER_LOGIN, "")).0,
            "field-required"
        );
        assert_eq!(
            message_key(fields::USER_EMAIL, &refused(fields::USER_EMAIL, "x")).0,
            "field-invalid-email"
        );
        assert_eq!(
            message_key(fields::USER_PHONE, &refused(fields::USER_PHONE, "x")).0,
            "field-invalid-phone"
        );
    }

    #[test]
    fn messages_name_the_field_in_both_languages() {
        let e = refused(fields::USER_LOGIN, "a b");
        let en = message(Locale::En, "Login name", fields::USER_LOGIN, &e);
        assert!(en.starts_with("Login name: "), "{en}");
        assert!(en.contains("letters"), "{en}");
        let zh = message(Locale::ZhCn, "登录名", fields::USER_LOGIN, &e);
        assert!(zh.starts_with("登录名: "), "{zh}");
        assert!(!zh.contains("field-"), "translated: {zh}");
    }

    #[test]
    fn every_refusal_label_is_in_both_catalogues() {
        let rules = [
            Rule::RequiredText { max: 3 },
            Rule::Identifier { max: 3 },
            Rule::CompanyCode,
            Rule::Email,
            Rule::Phone,
            Rule::Password,
        ];
        let codes = [
            FieldErrorCode::Required,
            FieldErrorCode::TooLong,
            FieldErrorCode::TooShort,
            FieldErrorCode::Invalid,
            FieldErrorCode::Duplicate,
            FieldErrorCode::NotAllowed,
        ];
        for l in Locale::ALL {
            for r in rules {
                for c in codes {
                    let (key, args) = message_key(r, &FieldError::new("f", c, ""));
                    assert_ne!(translate(l, key, &args), key, "{key} in {}", l.tag());
                }
            }
        }
    }

    #[test]
    fn the_first_refused_field_is_reported_with_its_name() {
        let ok = Checked {
            name: "display_name",
            label: "users-display-name",
            rule: fields::USER_DISPLAY_NAME,
            value: "Ops".into(),
        };
        let bad = Checked {
            name: "email",
            label: "users-email",
            rule: fields::USER_EMAIL,
            value: "nope".into(),
        };
        assert!(first_problem(Locale::En, &[ok]).is_none());
        let ok = Checked {
            name: "display_name",
            label: "users-display-name",
            rule: fields::USER_DISPLAY_NAME,
            value: "Ops".into(),
        };
        let e = first_problem(Locale::En, &[ok, bad]).expect("refused");
        assert_eq!(e.body.field.as_deref(), Some("email"));
        assert_eq!(e.status, 422);
        assert!(e.message().starts_with("E-mail"), "{}", e.message());
    }
}
