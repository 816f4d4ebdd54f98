//! System › Companies: the platform operator's list of every company on the server —
//! create, rename, disable / enable, and a new company's first administrator. Shown
//! only to platform operators (`Me::platform_operator`); the server answers everybody
//! else 404 on `/api/v1/platform/…` anyway.

use crate::api::{self, encode, ApiError, Method};
use crate::components::error_line::ErrorLine;
use crate::components::form_buttons::FormButtons;
use crate::components::search_box::SearchBox;
use crate::i18n::{t, t_args};
use crate::session::use_session;
use leptos::prelude::*;
use shared::datetime::datetime;
use shared::dto::platform::{
    FirstAdminCreate, PlatformCompany, PlatformCompanyCreate, PlatformCompanyRename,
};
use shared::dto::Page;

/// The list and its reload counter.
#[derive(Clone, Copy)]
struct Data {
    companies: RwSignal<Vec<PlatformCompany>>,
    total: RwSignal<i64>,
    query: RwSignal<String>,
    version: RwSignal<u32>,
    error: RwSignal<Option<ApiError>>,
}

impl Data {
    fn reload(&self) {
        self.version.update(|v| *v += 1);
    }
}

/// What the editor above the table does.
#[derive(Clone)]
enum Editing {
    New,
    Rename(PlatformCompany),
    FirstAdmin(PlatformCompany),
}

#[component]
pub fn CompaniesPage() -> impl IntoView {
    let session = use_session();
    move || {
        if !session.checked.get() {
            view! { <p class="muted">{t("common-loading")}</p> }.into_any()
        } else if session.is_platform_operator() {
            view! {
                <h1 class="page-title">{t("companies-title")}</h1>
                <Companies />
            }
            .into_any()
        } else {
            view! { <p class="error" data-testid="forbidden">{t("forbidden-body")}</p> }.into_any()
        }
    }
}

#[component]
fn Companies() -> impl IntoView {
    let data = Data {
        companies: RwSignal::new(vec![]),
        total: RwSignal::new(0),
        query: RwSignal::new(String::new()),
        version: RwSignal::new(0),
        error: RwSignal::new(None),
    };
    let editing = RwSignal::new(None::<Editing>);
    Effect::new(move |_| {
        data.version.track();
        let q = data.query.get();
        leptos::task::spawn_local(async move {
            let path = format!("/platform/companies?limit=500&q={}", encode(&q));
            match api::get::<Page<PlatformCompany>>(&path).await {
                Ok(page) => {
                    data.total.set(page.total);
                    data.companies.set(page.items);
                    data.error.set(None);
                }
                Err(e) => data.error.set(Some(e)),
            }
        });
    });
    let set_disabled = move |id: i64, disabled: bool| {
        let action = if disabled { "disable" } else { "enable" };
        leptos::task::spawn_local(async move {
            let path = format!("/platform/companies/{id}/{action}");
            match api::send_json::<_, PlatformCompany>(Method::Post, &path, &()).await {
                Ok(_) => data.reload(),
                Err(e) => data.error.set(Some(e)),
            }
        });
    };
    view! {
        <p class="muted">{t("companies-intro")}</p>
        <div class="toolbar">
            <SearchBox testid="company-search" query=data.query total=data.total />
            <span class="spacer"></span>
            <button class="primary" data-testid="new-company" on:click=move |_| editing.set(Some(Editing::New))>
                {t("companies-new")}
            </button>
        </div>
        {move || {
            editing
                .get()
                .map(|e| match e {
                    Editing::New => view! { <NewCompany data editing /> }.into_any(),
                    Editing::Rename(c) => view! { <RenameCompany company=c data editing /> }.into_any(),
                    Editing::FirstAdmin(c) => view! { <FirstAdmin company=c data editing /> }.into_any(),
                })
        }}
        <ErrorLine error=data.error />
        <div class="table-wrap">
            <table class="grid" data-testid="companies-table">
                <thead>
                    <tr>
                        <th>{t("companies-code")}</th>
                        <th>{t("common-name")}</th>
                        <th>{t("companies-users")}</th>
                        <th>{t("companies-state")}</th>
                        <th class="hide-phone">{t("companies-created")}</th>
                        <th>{t("common-actions")}</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || data.companies.get()
                        key=|c| (c.id, c.name.clone(), c.disabled, c.users)
                        let:c
                    >
                        {
                            let (rename, admin) = (c.clone(), c.clone());
                            let id = c.id;
                            let disabled = c.disabled;
                            view! {
                                <tr data-code=c.code.clone()>
                                    <td>{c.code.clone()}</td>
                                    <td>
                                        {c.name.clone()}
                                        {c.platform_operator.then(|| view! { <span class="muted">" · "{t("companies-operator")}</span> })}
                                    </td>
                                    <td>{c.users}</td>
                                    <td>{if c.disabled { t("companies-disabled")() } else { t("companies-enabled")() }}</td>
                                    <td class="hide-phone">{datetime(c.created_at)}</td>
                                    <td class="actions">
                                        <button class="link-button" on:click=move |_| editing.set(Some(Editing::Rename(rename.clone())))>
                                            {t("companies-rename")}
                                        </button>
                                        {(!c.platform_operator)
                                            .then(|| {
                                                view! {
                                                    <button
                                                        class="link-button"
                                                        class:danger=!disabled
                                                        data-testid="toggle-company"
                                                        on:click=move |_| set_disabled(id, !disabled)
                                                    >
                                                        {if disabled { t("companies-enable")() } else { t("companies-disable")() }}
                                                    </button>
                                                }
                                            })}
                                        {(c.users == 0)
                                            .then(|| {
                                                view! {
                                                    <button
                                                        class="link-button"
                                                        data-testid="first-admin"
                                                        on:click=move |_| editing.set(Some(Editing::FirstAdmin(admin.clone())))
                                                    >
                                                        {t("companies-first-admin")}
                                                    </button>
                                                }
                                            })}
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </div>
    }
}

/// A field refused before sending (the same rule the server applies).
fn invalid(e: shared::validate::FieldError) -> ApiError {
    ApiError {
        status: 422,
        body: shared::dto::error::ErrorBody {
            error: "validation".into(),
            message: e.to_string(),
            field: Some(e.field),
        },
    }
}

/// After a save: close the editor and fetch the list again.
fn done(data: Data, editing: RwSignal<Option<Editing>>) {
    editing.set(None);
    data.reload();
}

#[component]
fn NewCompany(data: Data, editing: RwSignal<Option<Editing>>) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = PlatformCompanyCreate {
            code: code.get_untracked(),
            name: name.get_untracked(),
        };
        if let Err(e) = shared::validate::company_code("code", &body.code) {
            error.set(Some(invalid(e)));
            return;
        }
        leptos::task::spawn_local(async move {
            match api::send_json::<_, PlatformCompany>(Method::Post, "/platform/companies", &body)
                .await
            {
                Ok(created) => {
                    // Its first administrator comes next.
                    data.reload();
                    editing.set(Some(Editing::FirstAdmin(created)));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="company-editor">
            <h2>{t("companies-new")}</h2>
            <div class="form-grid">
                <label>
                    <span>{t("companies-code")}</span>
                    <input name="code" required maxlength="32" pattern="[A-Za-z0-9_\\-]+" bind:value=code />
                    <small class="muted">{t("companies-code-hint")}</small>
                </label>
                <label>
                    <span>{t("common-name")}</span>
                    <input name="name" required maxlength="100" bind:value=name />
                </label>
            </div>
            <ErrorLine error />
            <FormButtons testid="save-company" on_cancel=move |_| editing.set(None) />
        </form>
    }
}

#[component]
fn RenameCompany(
    company: PlatformCompany,
    data: Data,
    editing: RwSignal<Option<Editing>>,
) -> impl IntoView {
    let name = RwSignal::new(company.name.clone());
    let error = RwSignal::new(None::<ApiError>);
    let id = company.id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = PlatformCompanyRename {
            name: name.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let path = format!("/platform/companies/{id}");
            match api::send_json::<_, PlatformCompany>(Method::Put, &path, &body).await {
                Ok(_) => done(data, editing),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="rename-company">
            <h2>{t_args("companies-rename-title", vec![("code", company.code.clone())])}</h2>
            <label>
                <span>{t("common-name")}</span>
                <input name="name" required maxlength="100" bind:value=name />
            </label>
            <ErrorLine error />
            <FormButtons testid="save-rename" on_cancel=move |_| editing.set(None) />
        </form>
    }
}

#[component]
fn FirstAdmin(
    company: PlatformCompany,
    data: Data,
    editing: RwSignal<Option<Editing>>,
) -> impl IntoView {
    let login = RwSignal::new(String::from("admin"));
    let display_name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let id = company.id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = FirstAdminCreate {
            login: login.get_untracked(),
            display_name: display_name.get_untracked(),
            password: password.get_untracked(),
        };
        if let Err(e) = shared::validate::password("password", &body.password) {
            error.set(Some(invalid(e)));
            return;
        }
        leptos::task::spawn_local(async move {
            let path = format!("/platform/companies/{id}/admins");
            match api::send_json::<_, PlatformCompany>(Method::Post, &path, &body).await {
                Ok(_) => done(data, editing),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let link = format!("/login?company={}", company.code);
    view! {
        <form class="card form editor" on:submit=submit data-testid="first-admin-editor">
            <h2>{t_args("companies-first-admin-title", vec![("code", company.code.clone())])}</h2>
            <p class="muted">
                {t("companies-first-admin-hint")}" "<code>{link}</code>
            </p>
            <div class="form-grid">
                <label>
                    <span>{t("users-login")}</span>
                    <input name="login" required maxlength="64" bind:value=login />
                </label>
                <label>
                    <span>{t("users-display-name")}</span>
                    <input name="display_name" required maxlength="100" bind:value=display_name />
                </label>
                <label>
                    <span>{t("users-password")}</span>
                    <input name="password" type="password" autocomplete="new-password" required minlength="8" bind:value=password />
                </label>
            </div>
            <ErrorLine error />
            <FormButtons testid="save-first-admin" on_cancel=move |_| editing.set(None) />
        </form>
    }
}
