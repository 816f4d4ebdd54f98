//! The zh-CN / English switch. Signed in, the choice is saved on the user.

use crate::api::{self, Method};
use crate::i18n::{t, use_i18n};
use crate::session::use_session;
use leptos::prelude::*;
use shared::dto::auth::SetLocale;
use shared::Locale;

#[component]
pub fn LangSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let on_change = move |ev: leptos::ev::Event| {
        let Some(locale) = Locale::from_tag(&event_target_value(&ev)) else {
            return;
        };
        i18n.locale.set(locale);
        if session.me.with_untracked(|m| m.is_some()) {
            session.me.update(|m| {
                if let Some(m) = m {
                    m.locale = locale;
                }
            });
            leptos::task::spawn_local(async move {
                let _ =
                    api::send_empty(Method::Put, "/auth/locale", Some(&SetLocale { locale })).await;
            });
        }
    };
    view! {
        <label class="lang-switch">
            <span class="sr-only">{t("nav-language")}</span>
            <select data-testid="lang-switch" on:change=on_change prop:value=move || i18n.locale.get().tag()>
                {Locale::ALL
                    .into_iter()
                    .map(|l| view! { <option value=l.tag()>{l.native_name()}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}
