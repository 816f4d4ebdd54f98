//! Change one's own password.

use crate::api::{self, Method};
use crate::i18n::{t, tr};
use leptos::prelude::*;
use shared::dto::auth::ChangePassword;

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let message = RwSignal::new(None::<(bool, String)>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if new.get_untracked() != repeat.get_untracked() {
            message.set(Some((false, tr("password-mismatch"))));
            return;
        }
        let body = ChangePassword {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        let ok_text = tr("password-changed");
        leptos::task::spawn_local(async move {
            match api::send_empty(Method::Post, "/auth/password", Some(&body)).await {
                Ok(()) => {
                    message.set(Some((true, ok_text)));
                    current.set(String::new());
                    new.set(String::new());
                    repeat.set(String::new());
                }
                Err(e) => message.set(Some((false, e.message().to_string()))),
            }
        });
    };
    view! {
        <h1 class="page-title">{t("nav-change-password")}</h1>
        <form class="card form narrow" on:submit=submit>
            <label>
                <span>{t("password-current")}</span>
                <input type="password" autocomplete="current-password" required bind:value=current />
            </label>
            <label>
                <span>{t("password-new")}</span>
                <input type="password" autocomplete="new-password" required minlength="8" bind:value=new />
            </label>
            <label>
                <span>{t("password-repeat")}</span>
                <input type="password" autocomplete="new-password" required minlength="8" bind:value=repeat />
            </label>
            {move || message.get().map(|(ok, m)| view! { <p class=if ok { "ok" } else { "error" } role="status">{m}</p> })}
            <button type="submit" class="primary">{t("common-save")}</button>
        </form>
    }
}
