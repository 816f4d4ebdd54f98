//! The sign-in page.

use crate::api::{self, ApiError, Method};
use crate::components::lang_switch::LangSwitch;
use crate::i18n::{t, tr};
use crate::session::use_session;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use shared::dto::auth::{LoginRequest, Me};

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let company = RwSignal::new(String::new());
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let req = LoginRequest {
            company_code: Some(company.get_untracked()).filter(|c| !c.trim().is_empty()),
            login: login.get_untracked(),
            password: password.get_untracked(),
        };
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::send_json::<_, Me>(Method::Post, "/auth/login", &req).await {
                Ok(me) => {
                    session.set(me);
                    navigate("/", Default::default());
                }
                Err(e) => {
                    let msg = login_message(&e);
                    error.set(Some(msg));
                    password.set(String::new());
                }
            }
            busy.set(false);
        });
    };

    view! {
        <div class="login-page">
            <form class="card login-card" on:submit=submit data-testid="login-form">
                <div class="login-head">
                    <span class="brand-mark">"L"</span>
                    <div>
                        <h1>{t("app-name")}</h1>
                        <p class="muted">{t("app-tagline")}</p>
                    </div>
                    <span class="spacer"></span>
                    <LangSwitch />
                </div>
                <h2>{t("login-title")}</h2>
                <label>
                    <span>{t("login-company")}</span>
                    <input
                        name="company"
                        autocomplete="organization"
                        placeholder=move || t("login-company-hint")()
                        bind:value=company
                    />
                </label>
                <label>
                    <span>{t("login-login")}</span>
                    <input name="login" autocomplete="username" required autofocus bind:value=login />
                </label>
                <label>
                    <span>{t("login-password")}</span>
                    <input name="password" type="password" autocomplete="current-password" required bind:value=password />
                </label>
                {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="login-error">{e}</p> })}
                <button type="submit" class="primary" disabled=move || busy.get()>{t("login-submit")}</button>
            </form>
        </div>
    }
}

fn login_message(e: &ApiError) -> String {
    match e.body.error.as_str() {
        "bad_credentials" => tr("login-failed"),
        "locked" => tr("login-locked"),
        _ => e.message().to_string(),
    }
}
