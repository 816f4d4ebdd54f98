//! The sign-in page. Served as plain HTML: the form posts to `/auth/login` without
//! JavaScript (the server redirects back with `?error=` on failure). When the app is
//! already running (after signing out) the same form signs in through the JSON API.
//! The company-code field is shown only when several companies use the server (the
//! server says so with the request; in the running app the page asks
//! `/auth/login-options`), or when `?company=CODE` fills it in.

use crate::api::{self, ApiError, Method};
use crate::i18n::{t, translate, use_i18n};
use crate::request;
use crate::session::use_session;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use shared::dto::auth::{LoginOptions, LoginRequest, Me};
use shared::Locale;

/// The message for an error code (`bad_credentials`, `locked`, `company_required`,
/// `company_disabled`, or an API message).
fn error_key(code: &str) -> Option<&'static str> {
    match code {
        "bad_credentials" => Some("login-failed"),
        "locked" => Some("login-locked"),
        "company_required" => Some("login-company-required"),
        "company_disabled" => Some("login-company-disabled"),
        _ => None,
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let i18n = use_i18n();
    let navigate = use_navigate();
    let query = use_query_map();
    let initial_company = query.with_untracked(|q| q.get("company").unwrap_or_default());
    let company = RwSignal::new(initial_company.clone());
    let initial_login = query.with_untracked(|q| q.get("login").unwrap_or_default());
    let login = RwSignal::new(initial_login.clone());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(query.with_untracked(|q| q.get("error")));
    let busy = RwSignal::new(false);
    let ask_company = RwSignal::new(
        request::company_code_required()
            || !initial_company.is_empty()
            || error.with_untracked(|e| e.as_deref().is_some_and(|e| e.starts_with("company_"))),
    );
    // In the running app (never on the server): ask whether a code is needed.
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let needed = api::get::<LoginOptions>("/auth/login-options")
                .await
                .map_or(true, |o| o.company_code_required);
            if needed {
                ask_company.set(true);
            }
        });
    });

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
                    let code = api_error_code(&e);
                    if code.starts_with("company_") {
                        ask_company.set(true);
                    }
                    error.set(Some(code));
                    password.set(String::new());
                }
            }
            busy.set(false);
        });
    };

    let message = move || {
        error.get().map(|code| match error_key(&code) {
            Some(key) => translate(
                i18n.locale.get(),
                key,
                &[("code", company.get_untracked().trim().to_string())],
            ),
            None => code,
        })
    };

    view! {
        <div class="login-page">
            <form class="card login-card" method="post" action="/auth/login" on:submit=submit data-testid="login-form">
                <div class="login-head">
                    <span class="brand-mark">"L"</span>
                    <div>
                        <h1>{t("app-name")}</h1>
                        <p class="muted">{t("app-tagline")}</p>
                    </div>
                    <span class="spacer"></span>
                    <nav class="lang-links" aria-label=move || t("nav-language")()>
                        {Locale::ALL
                            .into_iter()
                            .map(|l| {
                                view! {
                                    <a
                                        href=format!("/login?lang={}", l.tag())
                                        hreflang=l.tag()
                                        class:current=move || i18n.locale.get() == l
                                        on:click=move |ev| {
                                            ev.prevent_default();
                                            i18n.locale.set(l);
                                        }
                                    >
                                        {l.native_name()}
                                    </a>
                                }
                            })
                            .collect_view()}
                    </nav>
                </div>
                <h2>{t("login-title")}</h2>
                <input type="hidden" name="lang" value=move || i18n.locale.get().tag() />
                {move || {
                    let initial_company = initial_company.clone();
                    ask_company
                        .get()
                        .then(|| {
                            view! {
                                <label>
                                    <span>{t("login-company")}</span>
                                    <input
                                        name="company_code"
                                        autocomplete="organization"
                                        data-testid="login-company"
                                        placeholder=move || t("login-company-hint")()
                                        value=initial_company
                                        bind:value=company
                                    />
                                </label>
                            }
                        })
                }}
                <label>
                    <span>{t("login-login")}</span>
                    <input name="login" autocomplete="username" required autofocus value=initial_login bind:value=login />
                </label>
                <label>
                    <span>{t("login-password")}</span>
                    <input name="password" type="password" autocomplete="current-password" required bind:value=password />
                </label>
                {move || message().map(|m| view! { <p class="error" role="alert" data-testid="login-error">{m}</p> })}
                <button type="submit" class="primary" disabled=move || busy.get()>{t("login-submit")}</button>
            </form>
        </div>
    }
}

fn api_error_code(e: &ApiError) -> String {
    match e.body.error.as_str() {
        "bad_credentials" | "locked" | "company_disabled" => e.body.error.clone(),
        "validation" if e.body.field.as_deref() == Some("company_code") => {
            "company_required".into()
        }
        _ => e.message().to_string(),
    }
}
