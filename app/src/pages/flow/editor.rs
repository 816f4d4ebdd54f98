//! Flow › Editor, the list: every flow's latest version (key, name, group, version,
//! deployed when and by whom; a badge when a draft waits), flows that exist only as a
//! draft, search, and "Import .bpmn" which deploys a file from any modelling tool as a
//! new version — refused with the parser's or validator's problems, each with its line.
//! With no flow yet it guides a newcomer: new flow, import, or one of the examples.

use crate::api::{self, encode, flows, ApiError, Method};
use crate::components::browser::chosen_file;
use crate::components::error_line::ErrorLine;
use crate::components::guard::{Guarded, PageTitle};
use crate::components::list::{use_list, ListSearch, Pager, PAGE_SIZE};
use crate::i18n::t;
use crate::pages::flow::monitor::when;
use crate::session::use_session;
use leptos::prelude::*;
use shared::dto::flow::{DeployFlow, DraftSummary, FlowVersion, Instance, StartInstance};
use shared::{Function, Level};

#[component]
pub fn EditorPage() -> impl IntoView {
    view! {
        <Guarded function=Function::FlowEditor>
            <PageTitle function=Function::FlowEditor />
            <FlowList />
        </Guarded>
    }
}

#[component]
fn FlowList() -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::FlowEditor, Level::Manage);
    let list = use_list(PAGE_SIZE, flows::list);
    let error = RwSignal::new(None::<ApiError>);
    let problems = RwSignal::new(Vec::<String>::new());
    let deployed = RwSignal::new(None::<String>);
    // What the server had to guess reading an imported file (its encoding).
    let warnings = RwSignal::new(Vec::<String>::new());

    let drafts = RwSignal::new(Vec::<DraftSummary>::new());
    Effect::new(move |_| {
        list.items.track();
        let q = list.paging.with(|p| p.query.clone());
        leptos::task::spawn_local(async move {
            if let Ok(all) = api::get::<Vec<DraftSummary>>("/flow-drafts").await {
                let q = q.trim().to_lowercase();
                drafts.set(
                    all.into_iter()
                        .filter(|d| {
                            q.is_empty()
                                || d.key.to_lowercase().contains(&q)
                                || d.name.to_lowercase().contains(&q)
                        })
                        .collect(),
                );
            }
        });
    });
    let has_draft = move |key: &str| drafts.with(|d| d.iter().any(|d| d.key == key));
    // Drafts of flows never deployed: listed after the deployed ones.
    let draft_only = move || {
        let deployed = list.items.with(|items| {
            items
                .iter()
                .map(|f| f.key.clone())
                .collect::<std::collections::HashSet<_>>()
        });
        drafts.with(|d| {
            d.iter()
                .filter(|d| d.base_version == 0 && !deployed.contains(&d.key))
                .cloned()
                .collect::<Vec<_>>()
        })
    };

    let can_start = move || session.can(Function::FlowMonitor, Level::Manage);
    let navigate = leptos_router::hooks::use_navigate();
    let start = move |key: String| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            // A person pressed Start: recorded as `manual`, not `api`.
            let req = StartInstance {
                key,
                manual: true,
                ..Default::default()
            };
            match api::send_json::<_, Instance>(Method::Post, "/instances", &req).await {
                Ok(i) => navigate(
                    &format!("/flow/monitor?instance={}", i.id),
                    Default::default(),
                ),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    // What a deploy or an import answered: the versions, or the problems.
    let answered = move |result: Result<(Vec<FlowVersion>, Vec<String>), ApiError>| match result {
        Ok((versions, guessed)) => {
            deployed.set(Some(
                versions
                    .iter()
                    .map(|v| format!("{} v{}", v.key, v.version))
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
            warnings.set(guessed);
            list.reload();
        }
        Err(e) => problems.set(e.body.message.split("; ").map(str::to_string).collect()),
    };
    let clear = move || {
        problems.set(vec![]);
        deployed.set(None);
        warnings.set(vec![]);
        error.set(None);
    };
    // Deploys an example's XML as new versions.
    let deploy = move |xml: String| {
        leptos::task::spawn_local(async move {
            clear();
            let body = DeployFlow {
                xml,
                base: None,
                about: Default::default(),
            };
            answered(flows::deploy(&body).await.map(|v| (v, vec![])));
        });
    };
    // Imports the chosen file as it is on disk: the server decodes its encoding.
    let import = move |ev: leptos::ev::Event| {
        leptos::task::spawn_local(async move {
            if let Some(file) = chosen_file(&ev).await {
                clear();
                answered(
                    flows::import(file.bytes)
                        .await
                        .map(|i| (i.versions, i.warnings)),
                );
            }
        });
    };
    // Nothing deployed, no draft, no search: the newcomer's guide.
    let nothing_yet = move || {
        list.loaded.get()
            && list.paging.with(|p| p.query.is_empty() && p.total == 0)
            && list.items.with(Vec::is_empty)
            && drafts.with(Vec::is_empty)
    };

    view! {
        <div class="toolbar">
            <ListSearch testid="flow-search" list />
            <span class="spacer"></span>
            <Show when=can_manage>
                <a class="button" data-testid="new-flow" href="/flow/design">{t("editor-new-flow")}</a>
                <label class="button primary file-button">
                    {t("editor-import")}
                    <input type="file" accept=".bpmn,.xml" data-testid="import-bpmn" on:change=import />
                </label>
            </Show>
        </div>
        <ErrorLine error />
        <Show when=nothing_yet>
            <FirstFlow can_manage=Signal::derive(can_manage) import deploy />
        </Show>
        {move || deployed.get().map(|d| view! { <p class="ok" role="status" data-testid="deployed">{t("editor-deployed")} " " {d}</p> })}
        <Show when=move || !warnings.with(Vec::is_empty)>
            <div class="card" role="status" data-testid="import-warnings">
                <h3>{t("editor-import-warnings")}</h3>
                <ul>{move || warnings.get().into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
            </div>
        </Show>
        <DeployProblems problems />
        <div class="table-wrap">
            <table class="grid" data-testid="flows-table">
                <thead>
                    <tr>
                        <th>{t("editor-key")}</th>
                        <th>{t("common-name")}</th>
                        <th class="hide-phone">{t("editor-group")}</th>
                        <th>{t("editor-version")}</th>
                        <th class="hide-phone">{t("editor-schedule")}</th>
                        <th class="hide-phone">{t("editor-deployed-at")}</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || list.items.get() key=|f| (f.id, f.version) let:f>
                        {
                            let key = f.key.clone();
                            let start = start.clone();
                            let monitor = format!("/flow/monitor?q={}", encode(&f.key));
                            view! {
                                <tr data-flow=f.key.clone()>
                                    <td>{f.key.clone()}</td>
                                    <td>{f.name.clone()}</td>
                                    <td class="hide-phone">{f.about.group.clone()}</td>
                                    <td>
                                        {format!("v{}", f.version)}
                                        {
                                            let k = f.key.clone();
                                            move || has_draft(&k).then(|| view! { " " <span class="badge draft" data-testid="draft-badge">{t("editor-draft-badge")}</span> })
                                        }
                                    </td>
                                    <td class="hide-phone muted" data-testid="schedule" title=t("editor-schedule-later")>{t("editor-schedule-none")}</td>
                                    <td class="hide-phone">{by_at(&f)}</td>
                                    <td class="row-actions">
                                        <Show when=can_start>
                                            {
                                                let key = key.clone();
                                                let start = start.clone();
                                                view! {
                                                    <button class="small primary" data-testid="start-now" on:click=move |_| start(key.clone())>
                                                        {t("editor-start-now")}
                                                    </button>
                                                }
                                            }
                                        </Show>
                                        <a class="button small" data-testid="design" href=format!("/flow/design?key={}", encode(&f.key))>{t("editor-design")}</a>
                                        <a class="button small" href=monitor.clone()>{t("editor-open-monitor")}</a>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                    <For each=draft_only key=|d| (d.key.clone(), d.updated_at) let:d>
                        <tr data-flow=d.key.clone() data-draft-only="true">
                            <td>{d.key.clone()}</td>
                            <td>{d.name.clone()}</td>
                            <td class="hide-phone"></td>
                            <td><span class="badge draft">{t("editor-draft-only")}</span></td>
                            <td class="hide-phone"></td>
                            <td class="hide-phone">{if d.updated_by.is_empty() { when(d.updated_at) } else { format!("{} · {}", when(d.updated_at), d.updated_by) }}</td>
                            <td class="row-actions">
                                <a class="button small" data-testid="design" href=format!("/flow/design?key={}", encode(&d.key))>{t("editor-design")}</a>
                            </td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </div>
        <Pager testid="flows-pager" list />
    }
}

/// The example flows of `docs/examples`, offered when there is no flow yet: (label,
/// file name, XML).
pub const EXAMPLES: [(&str, &str, &str); 2] = [
    (
        "editor-example-system-info",
        "system-info.bpmn",
        include_str!("../../../../docs/examples/system-info.bpmn"),
    ),
    (
        "editor-example-approval",
        "approval.bpmn",
        include_str!("../../../../docs/examples/approval.bpmn"),
    ),
];

/// What a newcomer can do in an empty flow list: draw a new flow, import a `.bpmn`
/// file, or deploy one of the examples; without the right, whom to ask.
#[component]
fn FirstFlow(
    can_manage: Signal<bool>,
    import: impl Fn(leptos::ev::Event) + Clone + Send + Sync + 'static,
    deploy: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <div class="card empty-guide" data-testid="no-flows">
            <h3>{t("editor-empty-title")}</h3>
            <Show
                when=move || can_manage.get()
                fallback=|| view! { <p class="muted">{t("editor-empty-ask")}</p> }
            >
                <p>{t("editor-empty-hint")}</p>
                <div class="actions">
                    <a class="button primary" data-testid="empty-new-flow" href="/flow/design">{t("editor-new-flow")}</a>
                    <label class="button file-button">
                        {t("editor-import")}
                        <input type="file" accept=".bpmn,.xml" data-testid="empty-import-bpmn" on:change=import.clone() />
                    </label>
                </div>
                <p>{t("editor-empty-examples")}</p>
                <ul class="examples">
                    {EXAMPLES.iter().map(|&(label, file, xml)| view! {
                        <li>
                            <button class="small" data-testid="deploy-example" data-example=file on:click=move |_| deploy(xml.to_string())>
                                {t(label)}
                            </button>
                            " " <code>{format!("docs/examples/{file}")}</code>
                        </li>
                    }).collect_view()}
                </ul>
            </Show>
        </div>
    }
}

/// Why a deploy was refused: every problem, each with its line.
#[component]
pub(crate) fn DeployProblems(problems: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <Show when=move || !problems.get().is_empty()>
            <div class="card error-list" role="alert" data-testid="deploy-problems">
                <h3>{t("editor-refused")}</h3>
                <ul>{move || problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
            </div>
        </Show>
    }
}

/// "when · who" of a deployed version (who only when known).
pub fn by_at(v: &FlowVersion) -> String {
    if v.created_by_name.is_empty() {
        when(v.created_at)
    } else {
        format!("{} · {}", when(v.created_at), v.created_by_name)
    }
}
