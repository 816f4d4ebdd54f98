//! Resource › Data sources: the databases SQL steps run against (PostgreSQL,
//! MySQL/MariaDB, SQLite). The password is write-only; "Test connection" signs in and
//! runs `SELECT 1` from the server or from a host's Sub Manager. A data source names the
//! hosts that may use it (none: every host) and whether steps in cloud may.

use crate::api::{self, encode, ApiError, Method};
use crate::components::confirm::confirm_delete;
use crate::components::error_line::ErrorLine;
use crate::components::form_buttons::FormButtons;
use crate::components::guard::{Guarded, PageTitle};
use crate::components::search_box::SearchBox;
use crate::i18n::{t, tr};
use crate::session::use_session;
use leptos::prelude::*;
use shared::datetime::datetime;
use shared::dto::data_source::{DataSource, DataSourceInput, DataSourceKind};
use shared::dto::host::{ConnectionTest, Host};
use shared::dto::{Id, Page};
use shared::{Function, Level};
use std::collections::HashMap;

#[component]
pub fn DataSourcesPage() -> impl IntoView {
    view! {
        <Guarded function=Function::ResourceDataSources>
            <PageTitle function=Function::ResourceDataSources />
            <DataSources />
        </Guarded>
    }
}

/// What the editor is open on: a new data source, or an existing one.
#[derive(Clone, PartialEq)]
enum Editing {
    New,
    Existing(DataSource),
}

#[component]
fn DataSources() -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::ResourceDataSources, Level::Manage);
    let sources = RwSignal::new(Vec::<DataSource>::new());
    let query = RwSignal::new(String::new());
    let version = RwSignal::new(0u32);
    let error = RwSignal::new(None::<ApiError>);
    let editing = RwSignal::new(None::<Editing>);
    let hosts = RwSignal::new(Vec::<Host>::new());
    // Where "Test connection" runs from: "" is the LWAMS server, else a host id.
    let test_from = RwSignal::new(String::new());
    let tests = RwSignal::new(HashMap::<Id, Result<ConnectionTest, String>>::new());
    Effect::new(move |_| {
        version.track();
        let q = query.get();
        leptos::task::spawn_local(async move {
            match api::get::<Vec<DataSource>>(&format!("/data-sources?q={}", encode(&q))).await {
                Ok(list) => {
                    sources.set(list);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    // Hosts to test from, for those who may see them.
    Effect::new(move |_| {
        if !session.can(Function::SystemHosts, Level::View) {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(page) = api::get::<Page<Host>>("/hosts?limit=500").await {
                hosts.set(page.items);
            }
        });
    });
    let test = move |id: Id| {
        tests.update(|m| {
            m.insert(id, Err(tr("hosts-testing")));
        });
        let from = test_from.get_untracked();
        let path = if from.is_empty() {
            format!("/data-sources/{id}/test")
        } else {
            format!("/data-sources/{id}/test?host_id={from}")
        };
        leptos::task::spawn_local(async move {
            let r = api::send_json::<_, ConnectionTest>(Method::Post, &path, &()).await;
            tests.update(|m| {
                m.insert(id, r.map_err(|e| e.message().to_string()));
            });
        });
    };
    let delete = move |id: Id| {
        confirm_delete(
            &tr("common-confirm-delete"),
            format!("/data-sources/{id}"),
            error,
            move || version.update(|v| *v += 1),
        )
    };
    let total = Signal::derive(move || sources.with(Vec::len) as i64);
    view! {
        <ErrorLine error />
        <div class="toolbar">
            <SearchBox testid="ds-search" query total />
            <span class="spacer"></span>
            <Show when=move || !hosts.with(Vec::is_empty)>
                <label class="inline">
                    <span class="muted">{t("ds-test-from")}</span>
                    <select data-testid="ds-test-from" bind:value=test_from>
                        <option value="">{t("ds-test-from-server")}</option>
                        <For each=move || hosts.get() key=|h| h.id let:h>
                            <option value=h.id.to_string()>{h.name.clone()}</option>
                        </For>
                    </select>
                </label>
            </Show>
            <Show when=can_manage>
                <button class="primary" data-testid="new-data-source" on:click=move |_| editing.set(Some(Editing::New))>
                    {t("ds-new")}
                </button>
            </Show>
        </div>
        {move || editing.get().map(|e| view! { <DataSourceEditor editing=e hosts close=move || editing.set(None) saved=move || version.update(|v| *v += 1) /> })}
        <div class="table-wrap">
            <table class="grid" data-testid="data-sources-table">
                <thead>
                    <tr>
                        <th>{t("common-name")}</th>
                        <th>{t("ds-kind")}</th>
                        <th class="hide-phone">{t("ds-url")}</th>
                        <th class="hide-phone">{t("ds-username")}</th>
                        <th class="hide-phone">{t("ds-usable-on")}</th>
                        <th class="hide-phone">{t("ds-updated")}</th>
                        <th>{t("common-actions")}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || sources.get() key=|d| (d.id, d.updated_at) let:d>
                        {
                            let id = d.id;
                            let edit = d.clone();
                            view! {
                                <tr data-source=d.name.clone()>
                                    <td>
                                        <strong>{d.name.clone()}</strong>
                                        <div class="muted">{d.comments.clone()}</div>
                                    </td>
                                    <td>{d.kind.label()}</td>
                                    <td class="hide-phone mono">{d.url.clone()}</td>
                                    <td class="hide-phone">{d.username.clone()}</td>
                                    <td class="hide-phone" data-testid="ds-usable-on">{
                                        let allowed = d.allowed_hosts.clone();
                                        let in_cloud = d.in_cloud_allowed;
                                        move || usable_on(&allowed, in_cloud, &hosts.get())
                                    }</td>
                                    <td class="hide-phone">{datetime(d.updated_at)}</td>
                                    <td class="actions">
                                        <Show when=can_manage>
                                            <button class="link-button" data-testid="test-data-source" on:click=move |_| test(id)>{t("hosts-test")}</button>
                                            <button class="link-button" data-testid="edit-data-source" on:click={
                                                let edit = edit.clone();
                                                move |_| editing.set(Some(Editing::Existing(edit.clone())))
                                            }>{t("common-edit")}</button>
                                            <button class="link-button danger" on:click=move |_| delete(id)>{t("common-delete")}</button>
                                        </Show>
                                        {move || tests.with(|m| m.get(&id).cloned()).map(|r| match r {
                                            Ok(c) => view! {
                                                <div class=if c.ok { "ok" } else { "error" } data-testid="test-result" data-ok=c.ok.to_string()>
                                                    {format!("{} ({} ms)", c.message, c.millis)}
                                                </div>
                                            }.into_any(),
                                            Err(m) => view! { <div class="muted" data-testid="test-result">{m}</div> }.into_any(),
                                        })}
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || sources.with(Vec::is_empty)>
                <p class="muted center">{t("ds-none")}</p>
            </Show>
        </div>
    }
}

/// Where a data source may be used, as the list shows it: its hosts (or every host)
/// and whether in cloud.
fn usable_on(allowed: &[Id], in_cloud: bool, hosts: &[Host]) -> String {
    let mut parts = Vec::new();
    if allowed.is_empty() {
        parts.push(tr("ds-hosts-all"));
    } else {
        parts.extend(allowed.iter().map(|id| host_label(*id, hosts)));
    }
    if in_cloud {
        parts.push(tr("ds-in-cloud-short"));
    }
    parts.join(", ")
}

/// A host's name, or `#id` for one this user cannot see (or that was deleted).
fn host_label(id: Id, hosts: &[Host]) -> String {
    hosts
        .iter()
        .find(|h| h.id == id)
        .map(|h| h.name.clone())
        .unwrap_or_else(|| format!("#{id}"))
}

#[component]
fn DataSourceEditor(
    editing: Editing,
    /// The company's hosts (empty for users who may not see them).
    hosts: RwSignal<Vec<Host>>,
    #[prop(into)] close: Callback<()>,
    #[prop(into)] saved: Callback<()>,
) -> impl IntoView {
    let existing = match &editing {
        Editing::Existing(d) => Some(d.clone()),
        Editing::New => None,
    };
    let id = existing.as_ref().map(|d| d.id);
    let has_password = existing.as_ref().is_some_and(|d| d.has_password);
    let name = RwSignal::new(
        existing
            .as_ref()
            .map(|d| d.name.clone())
            .unwrap_or_default(),
    );
    let kind = RwSignal::new(
        existing
            .as_ref()
            .map(|d| d.kind)
            .unwrap_or(DataSourceKind::Postgres)
            .as_str()
            .to_string(),
    );
    let url = RwSignal::new(existing.as_ref().map(|d| d.url.clone()).unwrap_or_default());
    let username = RwSignal::new(
        existing
            .as_ref()
            .map(|d| d.username.clone())
            .unwrap_or_default(),
    );
    let password = RwSignal::new(String::new());
    let clear_password = RwSignal::new(false);
    let comments = RwSignal::new(
        existing
            .as_ref()
            .map(|d| d.comments.clone())
            .unwrap_or_default(),
    );
    // The hosts named (ids of hosts not listed — deleted or not visible — are kept).
    let allowed_hosts = RwSignal::new(
        existing
            .as_ref()
            .map(|d| d.allowed_hosts.clone())
            .unwrap_or_default(),
    );
    let in_cloud = RwSignal::new(existing.as_ref().is_none_or(|d| d.in_cloud_allowed));
    // A new URL or type clears the stored password unless it is entered again: said
    // before saving.
    let saved_at = existing
        .as_ref()
        .filter(|d| d.has_password)
        .map(|d| (d.url.trim().to_string(), d.kind.as_str().to_string()));
    let loses_password = move || {
        saved_at.as_ref().is_some_and(|(u, k)| {
            (url.get().trim() != u || kind.get() != *k) && password.get().is_empty()
        })
    };
    let error = RwSignal::new(None::<ApiError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = DataSourceInput {
            name: name.get_untracked(),
            kind: DataSourceKind::parse(&kind.get_untracked()),
            url: url.get_untracked(),
            username: username.get_untracked(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
            clear_password: clear_password.get_untracked(),
            comments: comments.get_untracked(),
            allowed_hosts: Some(allowed_hosts.get_untracked()),
            in_cloud_allowed: Some(in_cloud.get_untracked()),
        };
        leptos::task::spawn_local(async move {
            let r = match id {
                Some(id) => {
                    api::send_json::<_, DataSource>(
                        Method::Put,
                        &format!("/data-sources/{id}"),
                        &body,
                    )
                    .await
                }
                None => api::send_json::<_, DataSource>(Method::Post, "/data-sources", &body).await,
            };
            match r {
                Ok(_) => {
                    close.run(());
                    saved.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let placeholder = move || {
        DataSourceKind::parse(&kind.get())
            .map(|k| k.example_url())
            .unwrap_or_default()
    };
    let needs_account = move || kind.get() != DataSourceKind::Sqlite.as_str();
    view! {
        <form class="card form editor" on:submit=submit data-testid="data-source-editor">
            <h2>{if id.is_some() { t("ds-edit") } else { t("ds-new") }}</h2>
            <div class="form-grid">
                <label>
                    <span>{t("common-name")}</span>
                    <input name="name" required maxlength="100" bind:value=name />
                </label>
                <label>
                    <span>{t("ds-kind")}</span>
                    <select name="kind" bind:value=kind>
                        {DataSourceKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="wide">
                    <span>{t("ds-url")}</span>
                    <input name="url" required maxlength="1000" spellcheck="false" autocomplete="off" placeholder=placeholder bind:value=url />
                </label>
                <Show when=needs_account>
                    <label>
                        <span>{t("ds-username")}</span>
                        <input name="username" maxlength="64" autocomplete="off" bind:value=username />
                    </label>
                    <label>
                        <span>{t("users-password")}</span>
                        <input name="password" type="password" autocomplete="new-password"
                            placeholder=move || if has_password { tr("ds-password-kept") } else { String::new() }
                            bind:value=password />
                    </label>
                </Show>
                <label>
                    <span>{t("hosts-comments")}</span>
                    <input name="comments" maxlength="1000" bind:value=comments />
                </label>
            </div>
            <Show when=loses_password.clone()>
                <p class="error" data-testid="ds-url-change-warning">{t("ds-url-change-warning")}</p>
            </Show>
            <Show when=move || has_password>
                <label class="check">
                    <input type="checkbox" name="clear_password" bind:checked=clear_password />
                    <span>{t("ds-clear-password")}</span>
                </label>
            </Show>
            <fieldset class="checks" data-testid="ds-allowed-hosts">
                <legend>{t("ds-hosts")}</legend>
                <For each=move || hosts.get() key=|h| h.id let:h>
                    {
                        let hid = h.id;
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    data-host=h.name.clone()
                                    prop:checked=move || allowed_hosts.with(|a| a.contains(&hid))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        allowed_hosts.update(|a| {
                                            a.retain(|x| *x != hid);
                                            if on {
                                                a.push(hid);
                                            }
                                        });
                                    }
                                />
                                <span>{h.name.clone()}</span>
                            </label>
                        }
                    }
                </For>
                // Named hosts this page does not list stay named.
                {move || {
                    let listed = hosts.get();
                    allowed_hosts
                        .get()
                        .into_iter()
                        .filter(|id| !listed.iter().any(|h| h.id == *id))
                        .map(|id| view! { <span class="muted">{format!("#{id}")}</span> })
                        .collect_view()
                }}
            </fieldset>
            <p class="muted">{t("ds-hosts-hint")}</p>
            <label class="check">
                <input type="checkbox" name="in_cloud_allowed" data-testid="ds-in-cloud" bind:checked=in_cloud />
                <span>{t("ds-in-cloud")}</span>
            </label>
            <p class="muted">{t("ds-url-hint")}</p>
            <ErrorLine error />
            <FormButtons testid="save-data-source" on_cancel=move |_| close.run(()) />
        </form>
    }
}
