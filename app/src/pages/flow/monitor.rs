//! Flow › Monitor: instances newest first, filtered by flow and status, paged, kept
//! current over the live feed (`/ws`); the selected instance shows its diagram with
//! every node coloured by state (SPEC §5.2), the controls (pause, resume, terminate;
//! retry, skip, complete per node), the selected node's inputs, output, log and
//! timings, and who did what when.

use crate::api::{self, encode, ApiError, Method};
use crate::components::error_line::ErrorLine;
use crate::components::guard::{Guarded, PageTitle};
use crate::i18n::{t, t_args, translate, use_i18n};
use crate::live::{self, Link};
use crate::session::use_session;
use leptos::prelude::*;
use shared::dto::flow::{
    ArtifactInfo, ControlAction, Instance, InstanceControl, InstanceDetail, InstanceStatus,
    LiveMessage, NodeRun, NodeState, NodeStatus, RunStatus,
};
use shared::dto::{Id, Page};
use shared::{Function, Level};

const PAGE: i64 = 50;

#[component]
pub fn MonitorPage() -> impl IntoView {
    view! {
        <Guarded function=Function::FlowMonitor>
            <PageTitle function=Function::FlowMonitor />
            <Monitor />
        </Guarded>
    }
}

/// `12.3 s`, `4 min 5 s`, `2 h 1 min`.
fn duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s < 60 => format!("{:.1} s", ms as f64 / 1000.0),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

pub use shared::datetime::datetime as when;

#[component]
fn Monitor() -> impl IntoView {
    let i18n = use_i18n();
    let status = RwSignal::new(None::<InstanceStatus>);
    let search = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    // Whether the list has been fetched once (no "empty" guide before it is known).
    let loaded = RwSignal::new(false);
    let offset = RwSignal::new(0_i64);
    let page = RwSignal::new(Page::<Instance> {
        items: vec![],
        total: 0,
    });
    let error = RwSignal::new(None::<ApiError>);
    let selected = RwSignal::new(None::<Id>);
    // Output of the open instance's running steps, by node instance, as it arrives.
    let live_output = RwSignal::new(LiveText::default());
    let detail = RwSignal::new(None::<InstanceDetail>);
    // Bumped to fetch again (live changes, controls, reconnects).
    let list_version = RwSignal::new(0_u32);
    let detail_version = RwSignal::new(0_u32);
    let params = leptos_router::hooks::use_query_map();
    Effect::new(move |_| {
        let p = params.get();
        if let Some(id) = p.get("instance").and_then(|v| v.parse().ok()) {
            selected.set(Some(id));
        }
        if let Some(q) = p.get("q") {
            search.set(q.clone());
            query.set(q);
        }
    });
    let refresh_list = throttled(move || list_version.update(|v| *v += 1));
    let refresh_detail = throttled(move || detail_version.update(|v| *v += 1));
    let link = {
        let refresh_list = refresh_list.clone();
        let refresh_detail = refresh_detail.clone();
        live::connect(move |m| match m {
            LiveMessage::Update(u) => {
                // The open instance: its colours at once, its runs fetched again.
                if selected.get_untracked() == Some(u.instance_id) {
                    detail.update(|d| {
                        if let Some(d) = d.as_mut() {
                            d.nodes = u.nodes.clone();
                            d.instance.status = u.status;
                        }
                    });
                    refresh_detail();
                }
                let shown = page.with_untracked(|p| p.items.iter().any(|i| i.id == u.instance_id));
                if shown {
                    page.update(|p| {
                        for i in p.items.iter_mut().filter(|i| i.id == u.instance_id) {
                            i.status = u.status;
                        }
                    });
                }
                if shown || offset.get_untracked() == 0 {
                    refresh_list();
                }
            }
            LiveMessage::Output(o) => {
                if selected.get_untracked() == Some(o.instance_id) {
                    live_output.update(|l| l.push(o.ni, &o.text));
                }
            }
            LiveMessage::Resync => {
                refresh_list();
                refresh_detail();
            }
        })
    };

    let list_asked = StoredValue::new(0_u64);
    Effect::new(move |_| {
        list_version.track();
        let n = list_asked.get_value() + 1;
        list_asked.set_value(n);
        let path = format!(
            "/instances?limit={PAGE}&offset={}&status={}&q={}",
            offset.get(),
            status.get().map(InstanceStatus::as_str).unwrap_or(""),
            encode(&query.get())
        );
        leptos::task::spawn_local(async move {
            let got = api::get::<Page<Instance>>(&path).await;
            if list_asked.get_value() != n {
                return;
            }
            match got {
                Ok(p) => {
                    error.set(None);
                    page.set(p);
                    loaded.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    // Fetches overlap while an instance runs: only the answer to the latest one is
    // shown (an earlier answer arriving last would show runs that have since ended as
    // still running).
    let detail_asked = StoredValue::new(0_u64);
    Effect::new(move |_| {
        detail_version.track();
        let Some(id) = selected.get() else { return };
        let n = detail_asked.get_value() + 1;
        detail_asked.set_value(n);
        leptos::task::spawn_local(async move {
            let got = api::get::<InstanceDetail>(&format!("/instances/{id}")).await;
            if detail_asked.get_value() != n {
                return;
            }
            match got {
                Ok(d) => detail.set(Some(d)),
                Err(e) => error.set(Some(e)),
            }
        });
    });

    let status_label = move |s: InstanceStatus| translate(i18n.locale.get(), s.label_key(), &[]);

    view! {
        <div class="toolbar">
            <form
                class="search"
                on:submit=move |ev| {
                    ev.prevent_default();
                    offset.set(0);
                    query.set(search.get_untracked());
                }
            >
                <input type="search" data-testid="instance-search" placeholder=move || t("monitor-search")() bind:value=search />
            </form>
            <select
                data-testid="status-filter"
                on:change=move |ev| {
                    offset.set(0);
                    status.set(InstanceStatus::parse(&event_target_value(&ev)).ok());
                }
            >
                <option value="">{t("monitor-all-statuses")}</option>
                {InstanceStatus::ALL.iter().map(|s| {
                    let s = *s;
                    view! { <option value=s.as_str()>{move || status_label(s)}</option> }
                }).collect_view()}
            </select>
            <span class="muted">{move || t_args("common-total", vec![("count", page.get().total.to_string())])()}</span>
            <span class="spacer"></span>
            <span class="live-dot" class:live-open=move || link.get() == Link::Open data-testid="live" data-state=move || format!("{:?}", link.get()).to_lowercase()
                title=move || if link.get() == Link::Open { t("monitor-live")() } else { t("monitor-reconnecting")() }>
                {move || if link.get() == Link::Open { t("monitor-live")() } else { t("monitor-reconnecting")() }}
            </span>
            <button data-testid="prev-page" aria-label=move || t("common-previous")() disabled=move || { offset.get() == 0 } on:click=move |_| offset.update(|o| *o = (*o - PAGE).max(0))>"‹"</button>
            <button data-testid="next-page" aria-label=move || t("common-next")() disabled=move || { offset.get() + PAGE >= page.get().total } on:click=move |_| offset.update(|o| *o += PAGE)>"›"</button>
        </div>
        <ErrorLine error />
        <div class="table-wrap">
            <table class="grid" data-testid="instances-table">
                <thead>
                    <tr>
                        <th>"#"</th>
                        <th>{t("monitor-flow")}</th>
                        <th>{t("monitor-status")}</th>
                        <th class="hide-phone">{t("monitor-start-way")}</th>
                        <th class="hide-phone">{t("monitor-creator")}</th>
                        <th>{t("monitor-started")}</th>
                        <th class="hide-phone">{t("monitor-ended")}</th>
                        <th class="hide-phone">{t("monitor-duration")}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || page.get().items key=|i| (i.id, i.status) let:i>
                        {
                            let id = i.id;
                            let status_class = format!("badge status-{}", i.status);
                            let s = i.status;
                            view! {
                                <tr
                                    class="clickable"
                                    class:selected=move || selected.get() == Some(id)
                                    data-instance=id
                                    on:click=move |_| selected.set(Some(id))
                                >
                                    <td>{id}</td>
                                    <td>{format!("{} v{}", i.flow_key, i.flow_version)}</td>
                                    <td><span class=status_class>{move || status_label(s)}</span></td>
                                    <td class="hide-phone">{
                                        let way = i.start_way.clone();
                                        move || translate(i18n.locale.get(), &format!("start-way-{way}"), &[])
                                    }</td>
                                    <td class="hide-phone" data-testid="creator">{i.created_by_name.clone().unwrap_or_default()}</td>
                                    <td>{when(i.started_at)}</td>
                                    <td class="hide-phone" data-testid="ended">{i.ended_at.map(when).unwrap_or_default()}</td>
                                    <td class="hide-phone">{i.ended_at.map(|e| duration(e - i.started_at)).unwrap_or_default()}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || loaded.get() && page.with(|p| p.total == 0 && p.items.is_empty())>
                {move || if query.with(|q| q.trim().is_empty()) && status.get().is_none() {
                    view! {
                        <div class="card empty-guide" data-testid="no-instances">
                            <h3>{t("monitor-empty-title")}</h3>
                            <p>{t("monitor-empty-hint")}</p>
                            <p><a class="button" data-testid="to-editor" href="/flow/editor">{t("monitor-empty-to-editor")}</a></p>
                            <p class="muted">{t("monitor-empty-api")} " " <code>"POST /api/v1/instances"</code></p>
                        </div>
                    }.into_any()
                } else {
                    view! { <p class="muted center" data-testid="no-match">{t("monitor-empty-filtered")}</p> }.into_any()
                }}
            </Show>
        </div>
        {move || selected.get().map(|id| {
            live_output.set(LiveText::default());
            view! { <InstanceView id detail error live_output on_change=move || detail_version.update(|v| *v += 1) /> }
        })}
    }
}

/// A function that runs `f` at most every 300 ms (the last call is never lost).
fn throttled(
    f: impl Fn() + Clone + Send + Sync + 'static,
) -> impl Fn() + Clone + Send + Sync + 'static {
    let pending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    move || {
        use std::sync::atomic::Ordering;
        if pending.swap(true, Ordering::SeqCst) {
            return;
        }
        let pending = pending.clone();
        let f = f.clone();
        set_timeout(
            move || {
                pending.store(false, Ordering::SeqCst);
                f();
            },
            std::time::Duration::from_millis(300),
        );
    }
}

/// One instance: header with controls, the live diagram, the selected node, history.
#[component]
fn InstanceView(
    id: Id,
    detail: RwSignal<Option<InstanceDetail>>,
    error: RwSignal<Option<ApiError>>,
    live_output: RwSignal<LiveText>,
    on_change: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let can_manage = move || session.can(Function::FlowMonitor, Level::Manage);
    let node = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let control = Callback::new(move |(action, ni): (ControlAction, Option<u64>)| {
        let on_change = on_change.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let body = InstanceControl {
                action,
                node_instance: ni,
            };
            match api::send_empty(
                Method::Post,
                &format!("/instances/{id}/control"),
                Some(&body),
            )
            .await
            {
                Ok(()) => error.set(None),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
            on_change();
        });
    });
    let status = move || {
        detail.with(|d| {
            d.as_ref()
                .filter(|d| d.instance.id == id)
                .map(|d| d.instance.status)
        })
    };
    let status_name = move || status().map(InstanceStatus::as_str).unwrap_or("");
    let status_label = move || {
        status()
            .map(|s| translate(i18n.locale.get(), s.label_key(), &[]))
            .unwrap_or_default()
    };
    let title = move || {
        detail.with(|d| {
            d.as_ref()
                .filter(|d| d.instance.id == id)
                .map(|d| {
                    format!(
                        "#{} {} v{}",
                        id, d.instance.flow_key, d.instance.flow_version
                    )
                })
                .unwrap_or_else(|| format!("#{id}"))
        })
    };
    let artifacts = artifacts_of(id, detail);
    view! {
        <section class="card instance" data-testid="instance-detail" data-instance=id data-status=status_name>
            <div class="toolbar">
                <h2>{title}</h2>
                <span class=move || format!("badge status-{}", status_name())>{status_label}</span>
                <span class="spacer"></span>
                <Show when=move || can_manage() && matches!(status(), Some(InstanceStatus::Running | InstanceStatus::Failed))>
                    <button data-testid="pause" disabled=busy on:click=move |_| control.run((ControlAction::Pause, None))>{t("monitor-pause")}</button>
                </Show>
                <Show when=move || can_manage() && status() == Some(InstanceStatus::Paused)>
                    <button class="primary" data-testid="resume" disabled=busy on:click=move |_| control.run((ControlAction::Resume, None))>{t("monitor-resume")}</button>
                </Show>
                <Show when=move || can_manage() && status().is_some_and(|s| !s.ended())>
                    <button class="danger" data-testid="terminate" disabled=busy on:click=move |_| control.run((ControlAction::Terminate, None))>{t("monitor-terminate")}</button>
                </Show>
            </div>
            <div class="instance-body">
                <DiagramPanel id detail node />
                <NodePanel id detail node can_manage control busy live_output artifacts />
            </div>
            <Artifacts id list=artifacts />
            <History detail />
            <InstanceRuns detail />
        </section>
    }
}

/// The diagram (bpmn-js), coloured by node state; a click selects a node.
#[component]
fn DiagramPanel(
    id: Id,
    detail: RwSignal<Option<InstanceDetail>>,
    node: RwSignal<Option<String>>,
) -> impl IntoView {
    let container = NodeRef::<leptos::html::Div>::new();
    let problem = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    {
        use crate::diagram::{markers, Diagram};
        let shown = StoredValue::new_local(None::<Diagram>);
        Effect::new(move |_| {
            let Some(el) = container.get() else { return };
            leptos::task::spawn_local(async move {
                let xml = match api::get_text(&format!("/instances/{id}/diagram")).await {
                    Ok(x) => x,
                    Err(e) => {
                        problem.set(Some(e.message().to_string()));
                        return;
                    }
                };
                let el: web_sys::HtmlElement = el.into();
                match Diagram::show(&el, &xml).await {
                    Ok(d) => {
                        d.on_click(move |clicked| node.set(Some(clicked)));
                        shown.set_value(Some(d));
                        // Colour what is known now; the effect below follows changes.
                        detail.update(|_| {});
                    }
                    Err(e) => problem.set(Some(e)),
                }
            });
        });
        Effect::new(move |_| {
            let (nodes, paused) = detail.with(|d| {
                d.as_ref()
                    .filter(|d| d.instance.id == id)
                    .map(|d| (d.nodes.clone(), d.instance.status == InstanceStatus::Paused))
                    .unwrap_or_default()
            });
            shown.with_value(|d| {
                if let Some(d) = d {
                    for (node_id, class) in markers(&nodes, paused) {
                        d.mark(&node_id, class);
                    }
                }
            });
        });
        on_cleanup(move || {
            shown.with_value(|d| {
                if let Some(d) = d {
                    d.destroy();
                }
            })
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, detail, node);
    view! {
        <div class="diagram-wrap">
            <div class="diagram" node_ref=container data-testid="diagram"></div>
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            <p class="legend muted">
                <span class="swatch lw-completed"></span>{t("monitor-legend-completed")}
                <span class="swatch lw-active"></span>{t("monitor-legend-active")}
                <span class="swatch lw-paused"></span>{t("monitor-legend-paused")}
                <span class="swatch lw-failed"></span>{t("monitor-legend-failed")}
            </p>
        </div>
    }
}

/// The selected node: its state, runs (input, output, log, timings) and controls.
#[component]
fn NodePanel(
    id: Id,
    detail: RwSignal<Option<InstanceDetail>>,
    node: RwSignal<Option<String>>,
    can_manage: impl Fn() -> bool + Copy + Send + Sync + 'static,
    control: Callback<(ControlAction, Option<u64>)>,
    busy: RwSignal<bool>,
    live_output: RwSignal<LiveText>,
    artifacts: RwSignal<Vec<ArtifactInfo>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let instance = id;
    // The files the selected step brought back (RPA), newest run first.
    let files = move || -> Vec<ArtifactInfo> {
        let Some(id) = node.get() else { return vec![] };
        let mut mine: Vec<ArtifactInfo> =
            artifacts.with(|l| l.iter().filter(|a| a.node_id == id).cloned().collect());
        mine.sort_by_key(|a| std::cmp::Reverse((a.ni, a.attempt)));
        mine
    };
    let latest = move || -> Option<NodeStatus> {
        let id = node.get()?;
        detail.with(|d| {
            d.as_ref()?
                .nodes
                .iter()
                .filter(|n| n.node_id == id)
                .max_by_key(|n| n.ni)
                .cloned()
        })
    };
    let runs = move || -> Vec<NodeRun> {
        let Some(id) = node.get() else { return vec![] };
        detail.with(|d| {
            d.as_ref()
                .map(|d| d.runs.iter().filter(|r| r.node_id == id).cloned().collect())
                .unwrap_or_default()
        })
    };
    view! {
        <aside class="node-panel" data-testid="node-panel">
            {move || match node.get() {
                None => view! { <p class="muted">{t("monitor-pick-node")}</p> }.into_any(),
                Some(id) => {
                    let state = latest();
                    // An active node reads as running; a node never reached has no state.
                    let label = state.as_ref().map(|s| s.state.shown_as()).unwrap_or("not-reached");
                    let label_text = translate(i18n.locale.get(), &format!("status-{label}"), &[]);
                    view! {
                        <h3 data-node-selected=id.clone()>{id.clone()}</h3>
                        <p><span class=format!("badge status-{label}")>{label_text}</span></p>
                        {state.as_ref().and_then(|s| s.error.clone()).map(|e| view! { <pre class="output error">{e}</pre> })}
                        {state.clone().filter(|_| can_manage()).map(|s| {
                            let ni = s.ni;
                            view! {
                                <div class="row-actions">
                                    {(s.state == NodeState::Failed).then(|| view! { <button class="primary" data-testid="retry" disabled=busy on:click=move |_| control.run((ControlAction::Retry, Some(ni)))>{t("monitor-retry")}</button> })}
                                    {(s.state == NodeState::Failed || (s.state == NodeState::Active && !s.user_task)).then(|| view! { <button data-testid="skip" disabled=busy on:click=move |_| control.run((ControlAction::Skip, Some(ni)))>{t("monitor-skip")}</button> })}
                                    {(s.state == NodeState::Active && s.user_task).then(|| view! { <button class="primary" data-testid="complete" disabled=busy on:click=move |_| control.run((ControlAction::Complete, Some(ni)))>{t("monitor-complete")}</button> })}
                                </div>
                            }
                        })}
                        {state.as_ref().filter(|s| s.state == NodeState::Active && !s.user_task).map(|s| {
                            let ni = s.ni;
                            view! {
                                <pre class="output" data-testid="live-output">
                                    {move || live_output.with(|l| l.get(ni).to_string())}
                                </pre>
                            }
                        })}
                        {runs().into_iter().map(|r| view! { <RunCard run=r /> }).collect_view()}
                        {move || {
                            let mine = files();
                            (!mine.is_empty()).then(|| view! {
                                <div class="node-files" data-testid="node-artifacts">
                                    <h4>{t("monitor-artifacts")}</h4>
                                    <ul>{mine.into_iter().map(|a| artifact_item(instance, a, false)).collect_view()}</ul>
                                </div>
                            })
                        }}
                    }.into_any()
                }
            }}
        </aside>
    }
}

/// Running steps' output as it arrives, per node instance; the last 64 KB of each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveText {
    by_ni: std::collections::HashMap<u64, String>,
}

impl LiveText {
    const KEEP: usize = 64 * 1024;

    pub fn push(&mut self, ni: u64, text: &str) {
        let s = self.by_ni.entry(ni).or_default();
        s.push_str(text);
        if s.len() > Self::KEEP {
            let mut cut = s.len() - Self::KEEP;
            while !s.is_char_boundary(cut) {
                cut += 1;
            }
            s.drain(..cut);
        }
    }

    pub fn get(&self, ni: u64) -> &str {
        self.by_ni.get(&ni).map(String::as_str).unwrap_or("")
    }
}

/// One run of a node: attempt, timings, input, stdout / stderr / exit code.
#[component]
fn RunCard(run: NodeRun) -> impl IntoView {
    let i18n = use_i18n();
    let out: Option<serde_json::Value> = run
        .output
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok());
    let field = |k: &str| {
        out.as_ref().and_then(|o| o.get(k)).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let status: RunStatus = run.status;
    view! {
        <div class="run" data-run-status=run.status.as_str()>
            <p>
                <strong>{format!("#{}", run.attempt)}</strong> " "
                <span class=format!("badge status-{}", run.status)>{move || translate(i18n.locale.get(), status.label_key(), &[])}</span> " "
                <span class="muted">{when(run.started_at)} {run.ended_at.map(|e| format!(" · {}", duration(e - run.started_at))).unwrap_or_default()}</span>
            </p>
            {field("exitCode").map(|c| view! { <p class="muted">{t("monitor-exit-code")} " " {c}</p> })}
            {field("stdout").filter(|s| !s.is_empty()).map(|s| view! { <pre class="output" data-testid="stdout">{s}</pre> })}
            {field("stderr").filter(|s| !s.is_empty()).map(|s| view! { <pre class="output error">{s}</pre> })}
            {run.error.clone().map(|e| view! { <pre class="output error">{e}</pre> })}
        </div>
    }
}

/// The files RPA steps of instance `id` brought back, fetched again when a run is added
/// or ends (not on every live update).
fn artifacts_of(id: Id, detail: RwSignal<Option<InstanceDetail>>) -> RwSignal<Vec<ArtifactInfo>> {
    let list = RwSignal::new(Vec::<ArtifactInfo>::new());
    // This instance's runs and state (the detail may still be the previous instance's).
    let runs = Memo::new(move |_| {
        detail.with(|d| {
            d.as_ref().filter(|d| d.instance.id == id).map(|d| {
                (
                    d.instance.status,
                    d.runs.len(),
                    d.runs.iter().filter(|r| r.ended_at.is_some()).count(),
                )
            })
        })
    });
    // Only the answer to the latest request counts.
    let asked = StoredValue::new(0_u64);
    Effect::new(move |_| {
        if runs.get().is_none() {
            return;
        }
        let n = asked.get_value() + 1;
        asked.set_value(n);
        leptos::task::spawn_local(async move {
            if let Ok(l) =
                api::get::<Vec<ArtifactInfo>>(&format!("/instances/{id}/artifacts")).await
            {
                if asked.get_value() == n {
                    list.set(l);
                }
            }
        });
    });
    list
}

/// One brought-back file: a download link (or its name only when it was too big to
/// keep) and its size; `step` also names the step and attempt.
fn artifact_item(id: Id, a: ArtifactInfo, step: bool) -> impl IntoView {
    view! {
        <li data-artifact=a.name.clone()>
            {step.then(|| view! { <span class="muted">{format!("{} #{} · ", a.node_id, a.attempt)}</span> })}
            {if a.stored {
                view! { <a href=format!("/api/v1/instances/{id}/artifacts/{}", a.id) download=a.name.rsplit('/').next().unwrap_or("").to_string()>{a.name.clone()}</a> }.into_any()
            } else {
                view! { <span title=move || t("monitor-artifact-too-big")()>{a.name.clone()}</span> }.into_any()
            }}
            <span class="muted">{format!(" · {}", size(a.size))}</span>
        </li>
    }
}

/// Every file the instance's RPA steps brought back (shown when there are any).
#[component]
fn Artifacts(id: Id, list: RwSignal<Vec<ArtifactInfo>>) -> impl IntoView {
    view! {
        <Show when=move || !list.with(Vec::is_empty)>
            <details class="artifacts" open data-testid="artifacts">
                <summary>{t("monitor-artifacts")}</summary>
                <ul>
                    <For each=move || list.get() key=|a| a.id let:a>
                        {artifact_item(id, a, true)}
                    </For>
                </ul>
            </details>
        </Show>
    }
}

/// A byte count as people read it.
fn size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// Who did what, when.
#[component]
fn History(detail: RwSignal<Option<InstanceDetail>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <details class="history">
            <summary>{t("monitor-history")}</summary>
            <ul>
                {move || detail.with(|d| d.as_ref().map(|d| d.actions.iter().map(|a| {
                    let action = translate(i18n.locale.get(), &format!("action-{}", a.action), &[]);
                    let what = format!("{} {} {}{}", when(a.at), a.user_name, action, a.node_id.as_ref().map(|n| format!(" · {n}")).unwrap_or_default());
                    view! { <li>{what}</li> }
                }).collect_view()))}
            </ul>
        </details>
    }
}

/// Every run of every node, in the order they started.
#[component]
fn InstanceRuns(detail: RwSignal<Option<InstanceDetail>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <details class="all-runs">
            <summary>{t("monitor-all-runs")}</summary>
            <div class="table-wrap">
                <table class="grid">
                    <thead>
                        <tr>
                            <th>{t("monitor-node")}</th>
                            <th>{t("monitor-status")}</th>
                            <th class="hide-phone">{t("monitor-started")}</th>
                            <th>{t("monitor-duration")}</th>
                            <th>{t("monitor-output")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || detail.get().map(|d| d
                            .runs
                            .into_iter()
                            .map(|r| {
                                let status = r.status;
                                let class = format!("badge status-{}", r.status);
                                let shown = r.error.clone().or_else(|| {
                                    r.output.as_deref().and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok()).and_then(|v| {
                                        v.get("stdout").and_then(|s| s.as_str()).map(|s| s.chars().take(200).collect::<String>())
                                    })
                                });
                                view! {
                                    <tr data-node=r.node_id.clone()>
                                        <td>{format!("{} ({})", r.node_id, r.attempt)}</td>
                                        <td><span class=class>{move || translate(i18n.locale.get(), status.label_key(), &[])}</span></td>
                                        <td class="hide-phone">{when(r.started_at)}</td>
                                        <td>{r.ended_at.map(|e| duration(e - r.started_at)).unwrap_or_default()}</td>
                                        <td><pre class="output">{shown.unwrap_or_default()}</pre></td>
                                    </tr>
                                }
                            })
                            .collect_view())}
                    </tbody>
                </table>
            </div>
        </details>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_and_times_read_well() {
        assert_eq!(super::duration(12_300), "12.3 s");
        assert_eq!(super::duration(245_000), "4 min 5 s");
        assert_eq!(super::duration(7_260_000), "2 h 1 min");
    }

    #[test]
    fn live_output_keeps_the_last_64_kb_per_node_instance() {
        let mut l = super::LiveText::default();
        l.push(3, "a");
        l.push(3, &"é".repeat(40_000));
        l.push(4, "other");
        assert!(l.get(3).len() <= super::LiveText::KEEP);
        assert!(l.get(3).ends_with('é'));
        assert_eq!(l.get(4), "other");
        assert_eq!(l.get(9), "");
    }
}
