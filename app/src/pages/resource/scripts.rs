//! Resource › Scripts: the script library (SPEC §3). Command steps run a script by name
//! (`lwams:script`) on a terminal, a host or the server; SQL steps run SQL scripts.
//! Values of `${…}` placeholders are quoted for the script's language when it runs.

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
use shared::dto::script::{Script, ScriptInput, ScriptKind};
use shared::dto::Id;
use shared::vars::placeholders;
use shared::{Function, Level};

#[component]
pub fn ScriptsPage() -> impl IntoView {
    view! {
        <Guarded function=Function::ResourceScripts>
            <PageTitle function=Function::ResourceScripts />
            <Scripts />
        </Guarded>
    }
}

/// What the editor is open on: a new script, or an existing one.
#[derive(Clone, PartialEq)]
enum Editing {
    New,
    Existing(Script),
}

#[component]
fn Scripts() -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::ResourceScripts, Level::Manage);
    let scripts = RwSignal::new(Vec::<Script>::new());
    let query = RwSignal::new(String::new());
    let version = RwSignal::new(0u32);
    let error = RwSignal::new(None::<ApiError>);
    let editing = RwSignal::new(None::<Editing>);
    Effect::new(move |_| {
        version.track();
        let q = query.get();
        leptos::task::spawn_local(async move {
            match api::get::<Vec<Script>>(&format!("/scripts?q={}", encode(&q))).await {
                Ok(list) => {
                    scripts.set(list);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let delete = move |id: Id| {
        confirm_delete(
            &tr("common-confirm-delete"),
            format!("/scripts/{id}"),
            error,
            move || version.update(|v| *v += 1),
        )
    };
    let total = Signal::derive(move || scripts.with(Vec::len) as i64);
    view! {
        <ErrorLine error />
        <div class="toolbar">
            <SearchBox testid="scripts-search" query total />
            <span class="spacer"></span>
            <Show when=can_manage>
                <button class="primary" data-testid="new-script" on:click=move |_| editing.set(Some(Editing::New))>
                    {t("scripts-new")}
                </button>
            </Show>
        </div>
        {move || editing.get().map(|e| view! { <ScriptEditor editing=e close=move || editing.set(None) saved=move || version.update(|v| *v += 1) /> })}
        <div class="table-wrap">
            <table class="grid" data-testid="scripts-table">
                <thead>
                    <tr>
                        <th>{t("common-name")}</th>
                        <th>{t("scripts-kind")}</th>
                        <th class="hide-phone">{t("scripts-variables")}</th>
                        <th class="hide-phone">{t("ds-updated")}</th>
                        <th>{t("common-actions")}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || scripts.get() key=|s| (s.id, s.updated_at) let:s>
                        {
                            let id = s.id;
                            let edit = s.clone();
                            let vars = placeholders(&s.body).iter().map(|p| format!("${{{p}}}")).collect::<Vec<_>>().join(" ");
                            let changed = if s.updated_by.is_empty() {
                                datetime(s.updated_at)
                            } else {
                                format!("{} · {}", datetime(s.updated_at), s.updated_by)
                            };
                            view! {
                                <tr data-script=s.name.clone()>
                                    <td>
                                        <strong>{s.name.clone()}</strong>
                                        <div class="muted">{s.comments.clone()}</div>
                                    </td>
                                    <td>{s.kind.label()}</td>
                                    <td class="hide-phone mono">{vars}</td>
                                    <td class="hide-phone">{changed}</td>
                                    <td class="actions">
                                        <button class="link-button" data-testid="edit-script" on:click={
                                            let edit = edit.clone();
                                            move |_| editing.set(Some(Editing::Existing(edit.clone())))
                                        }>{move || if can_manage() { t("common-edit") } else { t("scripts-view") }}</button>
                                        <Show when=can_manage>
                                            <button class="link-button danger" on:click=move |_| delete(id)>{t("common-delete")}</button>
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || scripts.with(Vec::is_empty)>
                <p class="muted center">{t("scripts-none")}</p>
            </Show>
        </div>
    }
}

/// A starting point for a new script of each language.
fn example(kind: ScriptKind) -> &'static str {
    match kind {
        ScriptKind::Sh | ScriptKind::Bash => "uname -a\nls -la ${dir}",
        ScriptKind::Python => "import platform\nprint(platform.platform(), ${dir})",
        ScriptKind::Powershell => "Get-ComputerInfo | Select-Object OsName, OsVersion\nGet-ChildItem ${dir}",
        ScriptKind::Bat => "systeminfo\ndir ${dir}",
        ScriptKind::Vbs => "WScript.Echo \"Listing \" & ${dir}",
        ScriptKind::Java => "class Main {\n    public static void main(String[] args) {\n        System.out.println(${dir});\n    }\n}",
        ScriptKind::Sql => "SELECT * FROM servers WHERE name = ${server}",
    }
}

#[component]
fn ScriptEditor(
    editing: Editing,
    #[prop(into)] close: Callback<()>,
    #[prop(into)] saved: Callback<()>,
) -> impl IntoView {
    let session = use_session();
    let can_manage = session.can(Function::ResourceScripts, Level::Manage);
    let existing = match &editing {
        Editing::Existing(s) => Some(s.clone()),
        Editing::New => None,
    };
    let id = existing.as_ref().map(|s| s.id);
    let field = |f: fn(&Script) -> String| existing.as_ref().map(f).unwrap_or_default();
    let name = RwSignal::new(field(|s| s.name.clone()));
    let kind = RwSignal::new(
        existing
            .as_ref()
            .map(|s| s.kind)
            .unwrap_or(ScriptKind::Sh)
            .as_str()
            .to_string(),
    );
    let body = RwSignal::new(field(|s| s.body.clone()));
    let comments = RwSignal::new(field(|s| s.comments.clone()));
    let error = RwSignal::new(None::<ApiError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = ScriptInput {
            name: name.get_untracked(),
            kind: ScriptKind::parse(&kind.get_untracked()),
            body: body.get_untracked(),
            comments: comments.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let r = match id {
                Some(id) => {
                    api::send_json::<_, Script>(Method::Put, &format!("/scripts/{id}"), &input)
                        .await
                }
                None => api::send_json::<_, Script>(Method::Post, "/scripts", &input).await,
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
        ScriptKind::parse(&kind.get())
            .map(example)
            .unwrap_or_default()
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        #[cfg(feature = "hydrate")]
        indent_on_tab(&ev, body);
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, body);
    };
    let vars = move || {
        body.with(|b| placeholders(b))
            .iter()
            .map(|p| format!("${{{p}}}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="script-editor">
            <h2>{if id.is_none() { t("scripts-new") } else if can_manage { t("scripts-edit") } else { t("scripts-view") }}</h2>
            <div class="form-grid">
                <label>
                    <span>{t("common-name")}</span>
                    <input name="name" required maxlength="100" disabled=!can_manage bind:value=name />
                </label>
                <label>
                    <span>{t("scripts-kind")}</span>
                    <select name="kind" disabled=!can_manage bind:value=kind>
                        {ScriptKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="wide">
                    <span>{t("scripts-body")}</span>
                    <textarea name="body" class="code" rows="14" spellcheck="false" autocomplete="off"
                        required readonly=!can_manage placeholder=placeholder
                        on:keydown=on_key bind:value=body></textarea>
                </label>
                <label class="wide">
                    <span>{t("hosts-comments")}</span>
                    <input name="comments" maxlength="1000" disabled=!can_manage bind:value=comments />
                </label>
            </div>
            <p class="muted" data-testid="script-variables">
                {t("scripts-variables")}": " <span class="mono">{vars}</span>
            </p>
            <p class="muted">{t("scripts-hint")}</p>
            <ErrorLine error />
            {if can_manage {
                view! { <FormButtons testid="save-script" on_cancel=move |_| close.run(()) /> }.into_any()
            } else {
                view! { <div class="buttons"><button type="button" on:click=move |_| close.run(())>{t("common-close")}</button></div> }.into_any()
            }}
        </form>
    }
}

/// Tab in the code area indents by four spaces instead of leaving the field (Shift+Tab
/// and Esc-then-Tab still move on).
#[cfg(feature = "hydrate")]
fn indent_on_tab(ev: &leptos::ev::KeyboardEvent, body: RwSignal<String>) {
    use wasm_bindgen::JsCast;
    if ev.key() != "Tab" || ev.shift_key() || ev.ctrl_key() || ev.alt_key() || ev.meta_key() {
        return;
    }
    let Some(area) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
    else {
        return;
    };
    if area.read_only() {
        return;
    }
    ev.prevent_default();
    let start = area.selection_start().ok().flatten().unwrap_or(0);
    let end = area.selection_end().ok().flatten().unwrap_or(start);
    let _ = area.set_range_text_with_start_and_end("    ", start, end);
    let _ = area.set_selection_range(start + 4, start + 4);
    body.set(area.value());
}
