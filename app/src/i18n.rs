//! Translations with Project Fluent: one `.ftl` catalogue per locale under
//! `app/locales/`, compiled into the binary. Components read the current locale from
//! the `I18n` context, so a switch re-renders every label.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use leptos::prelude::*;
use shared::Locale;
use std::sync::OnceLock;

const EN: &str = include_str!("../locales/en.ftl");
const ZH_CN: &str = include_str!("../locales/zh-CN.ftl");

fn build(tag: &str, source: &'static str) -> FluentBundle<FluentResource> {
    let langid: unic_langid::LanguageIdentifier = tag.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    bundle.set_use_isolating(false);
    match FluentResource::try_new(source.to_string()) {
        Ok(res) => {
            let _ = bundle.add_resource(res);
        }
        Err((res, _errors)) => {
            let _ = bundle.add_resource(res);
        }
    }
    bundle
}

fn bundle(locale: Locale) -> &'static FluentBundle<FluentResource> {
    static EN_B: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
    static ZH_B: OnceLock<FluentBundle<FluentResource>> = OnceLock::new();
    match locale {
        Locale::En => EN_B.get_or_init(|| build("en", EN)),
        Locale::ZhCn => ZH_B.get_or_init(|| build("zh-CN", ZH_CN)),
    }
}

/// The message `key` in `locale`, with `args`; the key itself when missing.
pub fn translate(locale: Locale, key: &str, args: &[(&str, String)]) -> String {
    let b = bundle(locale);
    let Some(pattern) = b.get_message(key).and_then(|m| m.value()) else {
        return key.to_string();
    };
    let mut fargs = FluentArgs::new();
    for (k, v) in args {
        fargs.set(*k, FluentValue::from(v.clone()));
    }
    let mut errors = vec![];
    b.format_pattern(
        pattern,
        if args.is_empty() { None } else { Some(&fargs) },
        &mut errors,
    )
    .into_owned()
}

/// The current UI language, provided at the root of the app.
#[derive(Clone, Copy)]
pub struct I18n {
    pub locale: RwSignal<Locale>,
}

pub fn provide_i18n(initial: Locale) -> I18n {
    let i = I18n {
        locale: RwSignal::new(initial),
    };
    provide_context(i);
    i
}

pub fn use_i18n() -> I18n {
    use_context::<I18n>().unwrap_or_else(|| I18n {
        locale: RwSignal::new(Locale::default()),
    })
}

/// A reactive label: `{t("login-title")}` in a view.
pub fn t(key: &'static str) -> impl Fn() -> String + Clone + Send + Sync + 'static {
    let i = use_i18n();
    move || translate(i.locale.get(), key, &[])
}

/// A reactive label with arguments.
pub fn t_args(
    key: &'static str,
    args: Vec<(&'static str, String)>,
) -> impl Fn() -> String + Clone + Send + Sync + 'static {
    let i = use_i18n();
    move || translate(i.locale.get(), key, &args)
}

/// A label now, not reactive (for attributes computed inside reactive closures).
pub fn tr(key: &str) -> String {
    translate(use_i18n().locale.get_untracked(), key, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(src: &str) -> std::collections::BTreeSet<String> {
        src.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(" = "))
            .map(|l| l.split(" = ").next().unwrap_or_default().trim().to_string())
            .collect()
    }

    #[test]
    fn both_catalogues_have_the_same_keys() {
        assert_eq!(keys(EN), keys(ZH_CN));
        assert!(FluentResource::try_new(EN.to_string()).is_ok());
        assert!(FluentResource::try_new(ZH_CN.to_string()).is_ok());
    }

    #[test]
    fn every_function_and_menu_has_a_label() {
        for l in Locale::ALL {
            for f in shared::Function::ALL {
                let k = format!("fn-{}", f.key());
                assert_ne!(translate(l, &k, &[]), k, "{k} missing in {}", l.tag());
            }
            for m in shared::permission::Menu::ALL {
                let k = format!("menu-{}", m.as_str());
                assert_ne!(translate(l, &k, &[]), k);
            }
        }
    }

    #[test]
    fn every_step_parameter_has_a_label() {
        for l in Locale::ALL {
            for a in shared::bpmn::lwams::ATTRIBUTES {
                let k = format!("param-{a}");
                assert_ne!(translate(l, &k, &[]), k, "{k} missing in {}", l.tag());
            }
        }
    }

    #[test]
    fn every_step_kind_has_a_label() {
        for l in Locale::ALL {
            for k in shared::bpmn::lwams::StepKind::ALL {
                let key = k.label_key();
                assert_ne!(translate(l, key, &[]), key, "{key} missing in {}", l.tag());
            }
        }
    }

    #[test]
    fn arguments_are_substituted() {
        assert_eq!(
            translate(Locale::En, "common-total", &[("count", "3".into())]),
            "3 in all"
        );
        assert_eq!(
            translate(Locale::ZhCn, "common-total", &[("count", "3".into())]),
            "共 3 条"
        );
        assert_eq!(translate(Locale::En, "no-such-key", &[]), "no-such-key");
    }
}
