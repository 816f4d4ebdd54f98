//! System › Company: name, code and WeChat settings (the secret is write-only).

use crate::api::{self, ApiError, Method};
use crate::components::error_line::ErrorLine;
use crate::components::guard::{Guarded, PageTitle};
use crate::i18n::t;
use crate::session::use_session;
use leptos::prelude::*;
use shared::dto::company::{Company, CompanyUpdate};
use shared::{Function, Level};

#[component]
pub fn CompanyPage() -> impl IntoView {
    view! {
        <Guarded function=Function::SystemCompany>
            <PageTitle function=Function::SystemCompany />
            <CompanyForm />
        </Guarded>
    }
}

#[component]
fn CompanyForm() -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemCompany, Level::Manage);
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let app_id = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let clear_secret = RwSignal::new(false);
    let secret_set = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    let loaded = RwSignal::new(false);

    let fill = move |c: Company| {
        code.set(c.code);
        name.set(c.name);
        app_id.set(c.wechat_app_id);
        secret_set.set(c.wechat_app_secret_set);
        secret.set(String::new());
        clear_secret.set(false);
        loaded.set(true);
    };
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            match api::get::<Company>("/company").await {
                Ok(c) => fill(c),
                Err(e) => error.set(Some(e)),
            }
        });
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        error.set(None);
        let s = secret.get_untracked();
        let body = CompanyUpdate {
            code: code.get_untracked(),
            name: name.get_untracked(),
            wechat_app_id: app_id.get_untracked(),
            wechat_app_secret: if clear_secret.get_untracked() {
                Some(String::new())
            } else if s.is_empty() {
                None
            } else {
                Some(s)
            },
        };
        leptos::task::spawn_local(async move {
            match api::send_json::<_, Company>(Method::Put, "/company", &body).await {
                Ok(c) => {
                    fill(c);
                    saved.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        <form class="card form" on:submit=submit data-testid="company-form">
            <Show when=move || !can_manage()>
                <p class="muted">{t("common-read-only")}</p>
            </Show>
            <fieldset disabled=move || !can_manage() || !loaded.get()>
                <label>
                    <span>{t("company-code")}</span>
                    <input name="code" required maxlength="32" bind:value=code />
                </label>
                <label>
                    <span>{t("company-name")}</span>
                    <input name="name" required maxlength="100" bind:value=name />
                </label>
                <label>
                    <span>{t("company-wechat-appid")}</span>
                    <input name="wechat_app_id" maxlength="64" bind:value=app_id />
                </label>
                <label>
                    <span>{t("company-wechat-secret")}</span>
                    <input name="wechat_app_secret" type="password" autocomplete="off" maxlength="128" bind:value=secret />
                    <small class="muted">
                        {move || if secret_set.get() { t("company-wechat-secret-set")() } else { t("company-wechat-secret-unset")() }}
                    </small>
                </label>
                <Show when=move || secret_set.get()>
                    <label class="check">
                        <input type="checkbox" bind:checked=clear_secret />
                        <span>{t("company-wechat-secret-clear")}</span>
                    </label>
                </Show>
                <ErrorLine error />
                <Show when=move || saved.get()>
                    <p class="ok" role="status">{t("common-saved")}</p>
                </Show>
                <button type="submit" class="primary">{t("common-save")}</button>
            </fieldset>
        </form>
    }
}
