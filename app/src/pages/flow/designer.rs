//! Flow › Editor › design: the bpmn-js Modeler (through `diagram.rs`) with a properties
//! panel written in Leptos. Every edit is an undoable bpmn-js command; steps missing
//! required parameters are marked red and listed; "Deploy new version" (Ctrl+S) saves
//! the diagram as a new immutable version, refused when someone deployed meanwhile
//! (optimistic check, "changed by X at T"); older versions open read-only; import and
//! export .bpmn, SVG and PNG (drawn from the SVG on a canvas, 2×).
// The modeler exists in the browser only: on the server this page renders its frame.
#![cfg_attr(
    not(feature = "hydrate"),
    allow(unused_imports, unused_variables, dead_code)
)]

use crate::api::{self, encode, ApiError, Method};
use crate::components::error_line::ErrorLine;
use crate::components::guard::{Guarded, PageTitle};
use crate::diagram::ElementProps;
use crate::i18n::{t, t_args, tr};
use crate::pages::flow::monitor::when;
use crate::session::use_session;
use leptos::prelude::*;
use shared::dto::data_source::DataSource;
use shared::dto::flow::{DeployBase, DeployFlow, FlowDraft, FlowVersion, SaveDraft};
use shared::dto::host::{Host, HostDetail, Terminal};
use shared::dto::script::{Script, ScriptKind};
use shared::dto::Id;
use shared::dto::Page;
use shared::{Function, Level};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A new flow: one start event, drawn.
const NEW_FLOW: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:lwams="http://lwams.io/schema/bpmn/1.0" id="definitions" targetNamespace="http://lwams.io/flows">
  <bpmn:process id="new-flow" name="New flow" isExecutable="true">
    <bpmn:startEvent id="start" name="start"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="new-flow">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>"#;

#[component]
pub fn DesignerPage() -> impl IntoView {
    view! {
        <Guarded function=Function::FlowEditor>
            <PageTitle function=Function::FlowEditor />
            <Designer />
        </Guarded>
    }
}

/// The process id of a BPMN file (the flow key), read from its text.
fn process_id(xml: &str) -> Option<String> {
    let at = xml.find(":process ").or_else(|| xml.find("<process "))?;
    let rest = &xml[at..];
    let end = rest.find('>')?;
    let tag = &rest[..end];
    let id_at = tag.find(" id=\"")? + 5;
    let id_end = tag[id_at..].find('"')?;
    Some(tag[id_at..id_at + id_end].to_string())
}

#[component]
fn Designer() -> impl IntoView {
    let params = leptos_router::hooks::use_query_map();
    let key = Memo::new(move |_| params.with(|p| p.get("key")).filter(|k| !k.is_empty()));
    let versions = RwSignal::new(Vec::<FlowVersion>::new());
    // The version shown (0: a new flow) and the latest one (deploys build on it).
    let shown = RwSignal::new(0_i64);
    let latest = Memo::new(move |_| versions.with(|v| v.first().map(|v| v.version).unwrap_or(0)));
    let read_only = move || shown.get() != latest.get();
    let error = RwSignal::new(None::<ApiError>);
    let problems = RwSignal::new(Vec::<String>::new());
    let message = RwSignal::new(None::<String>);
    let selected = RwSignal::new(None::<ElementProps>);
    let dirty = RwSignal::new(false);
    let container = NodeRef::<leptos::html::Div>::new();
    // Bumped whenever the diagram changed (to re-read the selection and the markers).
    let changes = RwSignal::new(0_u32);
    let selected_id = RwSignal::new(None::<String>);
    let invalid = RwSignal::new(Vec::<(String, Vec<String>)>::new());
    let diff = RwSignal::new(None::<(i64, Vec<shared::bpmn::diff::Change>)>);
    let suggest = Suggestions::load();
    // A saved draft of this flow, offered until opened or discarded.
    let draft = RwSignal::new(None::<FlowDraft>);
    // Deploying an opened draft builds on the version the draft started from (so a
    // deploy made meanwhile is not silently overwritten).
    let base_override = RwSignal::new(None::<i64>);
    let compare = move |from: i64| {
        let (Some(k), to) = (key.get_untracked(), shown.get_untracked()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let path = format!("/flows/{}/diff?from={from}&to={to}", encode(&k));
            match api::get::<Vec<shared::bpmn::diff::Change>>(&path).await {
                Ok(changes) => diff.set(Some((from, changes))),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    #[cfg(feature = "hydrate")]
    let modeler = StoredValue::new_local(None::<crate::diagram::Modeler>);

    // Shows `xml` (a version, a new flow, an imported file: then `unsaved`). A file
    // bpmn-js cannot read leaves the current diagram and says why.
    let failure = RwSignal::new(None::<String>);
    let load_as = move |xml: String, unsaved: bool| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let Some(m) = modeler.get_value() else { return };
            match m.load(&xml).await {
                Ok(()) => {
                    failure.set(None);
                    dirty.set(unsaved);
                    selected_id.set(None);
                    changes.update(|c| *c += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (xml, unsaved);
    };
    let load = move |xml: String| load_as(xml, false);
    let open_version = move |k: String, v: i64| {
        leptos::task::spawn_local(async move {
            match api::get_text(&format!("/flows/{}/versions/{v}/xml", encode(&k))).await {
                Ok(xml) => {
                    shown.set(v);
                    load(xml);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some(el) = container.get() else { return };
        let wanted =
            params.with_untracked(|p| p.get("version").and_then(|v| v.parse::<i64>().ok()));
        let k = key.get_untracked();
        leptos::task::spawn_local(async move {
            let el: web_sys::HtmlElement = el.into();
            let m = match crate::diagram::Modeler::mount(&el).await {
                Ok(m) => m,
                Err(e) => {
                    failure.set(Some(e));
                    return;
                }
            };
            m.on_selection(move |id| selected_id.set(id));
            m.on_change(move || {
                dirty.set(true);
                changes.update(|c| *c += 1);
            });
            modeler.set_value(Some(m));
            match k {
                None => load(NEW_FLOW.to_string()),
                Some(k) => {
                    let saved = api::get::<FlowDraft>(&format!("/flows/{}/draft", encode(&k)))
                        .await
                        .ok();
                    match api::get::<Vec<FlowVersion>>(&format!("/flows/{}/versions", encode(&k)))
                        .await
                    {
                        Ok(v) => {
                            let open = wanted.or(v.first().map(|f| f.version)).unwrap_or(0);
                            versions.set(v);
                            open_version(k, open);
                            draft.set(saved);
                        }
                        // Never deployed: the draft is all there is.
                        Err(_) if saved.is_some() => {
                            if let Some(d) = saved {
                                load_as(d.xml, false);
                            }
                        }
                        Err(e) => error.set(Some(e)),
                    }
                }
            }
        });
    });

    // Re-read the selection and mark every step that misses required parameters.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        changes.track();
        let id = selected_id.get();
        modeler.with_value(|m| {
            let Some(m) = m else { return };
            selected.set(id.as_deref().and_then(|id| m.props(id)));
            let mut bad = Vec::new();
            for el in m.element_ids() {
                let missing = m.props(&el).map(|p| p.missing()).unwrap_or_default();
                m.mark(&el, "lw-invalid", !missing.is_empty());
                if !missing.is_empty() {
                    bad.push((el, missing));
                }
            }
            invalid.set(bad);
        });
    });

    let set = move |attr: String, value: String| {
        #[cfg(feature = "hydrate")]
        if let Some(id) = selected_id.get_untracked() {
            modeler.with_value(|m| {
                if let Some(m) = m {
                    m.set(&id, &[(attr.as_str(), value.as_str())]);
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (attr, value);
    };

    // The flow a save is for (a new flow: its process id) and the version it builds on.
    let flow_key_of = move |xml: &str| key.get_untracked().or_else(|| process_id(xml));
    let base_version = move || {
        base_override
            .get_untracked()
            .unwrap_or_else(|| latest.get_untracked())
    };

    let deploy = move || {
        if read_only() {
            return;
        }
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let Some(xml) = diagram_xml(modeler, failure).await else {
                return;
            };
            let flow_key = flow_key_of(&xml).unwrap_or_default();
            let req = DeployFlow {
                xml,
                base: Some(DeployBase {
                    key: flow_key.clone(),
                    version: base_version(),
                }),
            };
            problems.set(vec![]);
            error.set(None);
            match api::send_json::<_, Vec<FlowVersion>>(Method::Post, "/flows", &req).await {
                Ok(deployed) => {
                    dirty.set(false);
                    draft.set(None);
                    base_override.set(None);
                    if let Some(d) = deployed
                        .iter()
                        .find(|d| d.key == flow_key)
                        .or(deployed.first())
                    {
                        message.set(Some(format!(
                            "{} {} v{}",
                            tr("editor-deployed"),
                            d.key,
                            d.version
                        )));
                        let k = d.key.clone();
                        if let Ok(v) =
                            api::get::<Vec<FlowVersion>>(&format!("/flows/{}/versions", encode(&k)))
                                .await
                        {
                            shown.set(v.first().map(|f| f.version).unwrap_or(0));
                            versions.set(v);
                        }
                        if key.get_untracked().is_none() {
                            let nav = leptos_router::hooks::use_navigate();
                            nav(
                                &format!("/flow/design?key={}", encode(&k)),
                                Default::default(),
                            );
                        }
                    }
                }
                Err(e) if e.status == 422 => {
                    problems.set(e.body.message.split("; ").map(str::to_string).collect())
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    // "Save draft": the diagram as it is (steps may still lack parameters), not deployed.
    let save_draft = move || {
        if read_only() {
            return;
        }
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let Some(xml) = diagram_xml(modeler, failure).await else {
                return;
            };
            let Some(flow_key) = flow_key_of(&xml) else {
                failure.set(Some(tr("editor-draft-needs-id")));
                return;
            };
            let req = SaveDraft {
                xml,
                base_version: base_version(),
            };
            let path = format!("/flows/{}/draft", encode(&flow_key));
            match api::send_json::<_, FlowDraft>(Method::Put, &path, &req).await {
                Ok(d) => {
                    dirty.set(false);
                    error.set(None);
                    message.set(Some(format!(
                        "{} · {}",
                        tr("editor-draft-saved"),
                        when(d.updated_at)
                    )));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let open_draft = move || {
        if let Some(d) = draft.get_untracked() {
            base_override.set(Some(d.base_version));
            draft.set(None);
            load_as(d.xml, true);
        }
    };
    let discard_draft = move || {
        let Some(k) = key.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            let path = format!("/flows/{}/draft", encode(&k));
            match api::send_empty(Method::Delete, &path, None::<&()>).await {
                Ok(()) => draft.set(None),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    // Ctrl+S / ⌘S deploys; leaving with unsaved changes asks first.
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("s") {
                ev.prevent_default();
                deploy();
            }
        });
        let guard = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if dirty.get_untracked() {
                ev.prevent_default();
                ev.set_return_value("unsaved");
            }
        });
        on_cleanup(move || {
            handle.remove();
            guard.remove();
            modeler.with_value(|m| {
                if let Some(m) = m {
                    m.destroy();
                }
            });
        });
    }

    let export = move |format: Export| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let Some(m) = modeler.get_value() else { return };
            let name = key.get_untracked().unwrap_or_else(|| "flow".into());
            let bytes = match format {
                Export::Bpmn => m.save_xml().await.map(String::into_bytes),
                Export::Svg => m.save_svg().await.map(String::into_bytes),
                Export::Png => match m.save_svg().await {
                    Ok(svg) => crate::diagram::svg_to_png(&svg, 2.0).await,
                    Err(e) => Err(e),
                },
            };
            match bytes {
                Ok(b) => download(&format!("{name}.{}", format.extension()), &b, format.mime()),
                Err(e) => failure.set(Some(e)),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = format;
    };

    let import = move |ev: leptos::ev::Event| {
        leptos::task::spawn_local(async move {
            if let Some(xml) = crate::pages::flow::editor::read_chosen_file(&ev).await {
                load_as(xml, true);
            }
        });
    };

    let undo = move |redo: bool| {
        #[cfg(feature = "hydrate")]
        modeler.with_value(|m| {
            if let Some(m) = m {
                if redo {
                    m.redo()
                } else {
                    m.undo()
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = redo;
    };

    view! {
        <div class="toolbar designer-toolbar">
            <a class="button small" href="/flow/editor">"‹ " {t("editor-back")}</a>
            <strong data-testid="designer-key">{move || key.get().unwrap_or_else(|| t("editor-new-flow")())}</strong>
            <Show when=move || !versions.with(Vec::is_empty)>
            <select data-testid="version-select" on:change=move |ev| {
                if let (Some(k), Ok(v)) = (key.get_untracked(), event_target_value(&ev).parse::<i64>()) {
                    open_version(k, v);
                }
            }>
                {move || versions.get().into_iter().map(|v| {
                    let label = format!("v{} · {}", v.version, super::editor::by_at(&v));
                    let n = v.version;
                    view! { <option value=n selected=move || shown.get() == n>{label}</option> }
                }).collect_view()}
            </select>
            </Show>
            <Show when=move || { versions.with(|v| v.len() > 1) }>
                <select data-testid="compare-select" on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<i64>() {
                        compare(v);
                    }
                }>
                    <option value="">{t("editor-compare")}</option>
                    {move || versions.get().into_iter().filter(|v| v.version != shown.get()).map(|v| {
                        let n = v.version;
                        view! { <option value=n>{format!("v{n}")}</option> }
                    }).collect_view()}
                </select>
            </Show>
            <Show when=read_only>
                <span class="badge status-paused" data-testid="read-only">{t("editor-read-only")}</span>
            </Show>
            <Show when=move || dirty.get()>
                <span class="muted" data-testid="unsaved">{t("editor-unsaved")}</span>
            </Show>
            <span class="spacer"></span>
            <button class="small" title="Ctrl+Z" on:click=move |_| undo(false)>{t("editor-undo")}</button>
            <button class="small" title="Ctrl+Y" on:click=move |_| undo(true)>{t("editor-redo")}</button>
            <label class="button small file-button secondary">
                {t("editor-import")}
                <input type="file" accept=".bpmn,.xml" data-testid="designer-import" on:change=import />
            </label>
            <button class="small" data-testid="export-bpmn" on:click=move |_| export(Export::Bpmn)>{t("editor-export-bpmn")}</button>
            <button class="small" data-testid="export-svg" on:click=move |_| export(Export::Svg)>{t("editor-export-svg")}</button>
            <button class="small" data-testid="export-png" on:click=move |_| export(Export::Png)>{t("editor-export-png")}</button>
            <button class="small" data-testid="save-draft" disabled=read_only on:click=move |_| save_draft()>{t("editor-save-draft")}</button>
            <button class="primary" data-testid="deploy" title="Ctrl+S" disabled=read_only on:click=move |_| deploy()>{t("editor-deploy")}</button>
        </div>
        {move || draft.get().map(|d| {
            let who = if d.updated_by.is_empty() { "—".to_string() } else { d.updated_by.clone() };
            view! {
                <p class="card notice" data-testid="draft-banner">
                    {t_args("editor-draft-found", vec![("who", who), ("when", when(d.updated_at)), ("base", d.base_version.to_string())])}
                    " "
                    <button class="small primary" data-testid="open-draft" on:click=move |_| open_draft()>{t("editor-open-draft")}</button>
                    " "
                    <button class="small" data-testid="discard-draft" on:click=move |_| discard_draft()>{t("editor-discard-draft")}</button>
                </p>
            }
        })}
        <ErrorLine error />
        {move || failure.get().map(|m| view! { <p class="error" role="alert" data-testid="designer-error">{m}</p> })}
        {move || message.get().map(|m| view! { <p class="ok" role="status" data-testid="designer-message">{m}</p> })}
        <crate::pages::flow::editor::DeployProblems problems />
        {move || diff.get().map(|(from, changes)| {
            let title = t_args("editor-diff-title", vec![("from", from.to_string()), ("to", shown.get().to_string())]);
            view! {
                <div class="card diff" data-testid="diff">
                    <h3>{title}</h3>
                    {changes.is_empty().then(|| view! { <p class="muted">{t("editor-diff-none")}</p> })}
                    <ul>
                        {changes.into_iter().map(|c| {
                            let line = match c.change.as_str() {
                                "changed" => format!("{} · {}: {} → {}", c.element_id, c.property.unwrap_or_default(), c.before.unwrap_or_else(|| "∅".into()), c.after.unwrap_or_else(|| "∅".into())),
                                other => format!("{} · {other} ({})", c.element_id, c.before.or(c.after).unwrap_or_default()),
                            };
                            view! { <li>{line}</li> }
                        }).collect_view()}
                    </ul>
                    <button class="small" on:click=move |_| diff.set(None)>{t("common-close")}</button>
                </div>
            }
        })}
        <div class="designer">
            <div class="modeler" node_ref=container data-testid="modeler"></div>
            <aside class="properties" data-testid="properties">
                {move || match selected.get() {
                    None => view! { <p class="muted">{t("editor-pick-element")}</p> }.into_any(),
                    Some(p) => view! { <Properties props=p set suggest /> }.into_any(),
                }}
                <Show when=move || !invalid.get().is_empty()>
                    <div class="card error-list" data-testid="missing-parameters">
                        <h3>{t("editor-missing")}</h3>
                        <ul>{move || invalid.get().into_iter().map(|(id, m)| view! { <li>{format!("{id}: {}", m.join(", "))}</li> }).collect_view()}</ul>
                    </div>
                </Show>
            </aside>
        </div>
        <p class="muted small">{move || t_args("editor-versions-count", vec![("count", versions.get().len().to_string())])()}</p>
    }
}

/// Values offered while a parameter is typed (a `<datalist>`: free text and `${…}`
/// still work): the company's hosts and data sources, and each enumerated parameter's
/// values.
#[derive(Clone, Copy)]
struct Suggestions {
    hosts: RwSignal<Vec<Host>>,
    /// Terminals (with their accounts) per host id, fetched when a step on that host
    /// first offers them.
    terminals: RwSignal<HashMap<Id, Vec<Terminal>>>,
    requested: StoredValue<HashSet<Id>>,
    data_sources: RwSignal<Vec<String>>,
    /// Library scripts with their language (SQL steps get SQL scripts, commands the rest).
    scripts: RwSignal<Vec<(String, ScriptKind)>>,
}

impl Suggestions {
    /// Loads the names the user may see (each list needs its page's View right).
    fn load() -> Suggestions {
        let s = Suggestions {
            hosts: RwSignal::new(vec![]),
            terminals: RwSignal::new(HashMap::new()),
            requested: StoredValue::new(HashSet::new()),
            data_sources: RwSignal::new(vec![]),
            scripts: RwSignal::new(vec![]),
        };
        let session = use_session();
        Effect::new(move |_| {
            let hosts = session.can(Function::SystemHosts, Level::View);
            let sources = session.can(Function::ResourceDataSources, Level::View);
            let scripts = session.can(Function::ResourceScripts, Level::View);
            leptos::task::spawn_local(async move {
                if hosts {
                    if let Ok(p) = api::get::<Page<Host>>("/hosts?limit=500").await {
                        s.hosts.set(p.items);
                    }
                }
                if sources {
                    if let Ok(list) = api::get::<Vec<DataSource>>("/data-sources").await {
                        s.data_sources
                            .set(list.into_iter().map(|d| d.name).collect());
                    }
                }
                if scripts {
                    if let Ok(list) = api::get::<Vec<Script>>("/scripts").await {
                        s.scripts
                            .set(list.into_iter().map(|d| (d.name, d.kind)).collect());
                    }
                }
            });
        });
        s
    }

    /// Values to offer for `attr` on a step with the parameters `lwams`: the step's
    /// host's terminals and the chosen terminal's accounts come from the API.
    fn values(&self, attr: &str, lwams: &BTreeMap<String, String>) -> Option<Vec<String>> {
        if !matches!(attr, "terminal" | "terminalUser") {
            let kind = lwams.get("kind").map(String::as_str).unwrap_or("");
            return self.for_attr(attr, kind);
        }
        let wanted = lwams.get("host").map(|h| h.trim()).unwrap_or("");
        let host = self.hosts.with(|hosts| {
            hosts
                .iter()
                .find(|h| h.name == wanted || h.id.to_string() == wanted)
                .map(|h| h.id)
        });
        let Some(host) = host else {
            return Some(vec![]);
        };
        self.fetch_terminals(host);
        let terminal = lwams.get("terminal").map(|t| t.trim()).unwrap_or("");
        Some(self.terminals.with(|m| {
            let list = m.get(&host).map(Vec::as_slice).unwrap_or(&[]);
            if attr == "terminal" {
                list.iter().map(|t| t.host_name.clone()).collect()
            } else {
                list.iter()
                    .filter(|t| t.host_name == terminal || t.id.to_string() == terminal)
                    .flat_map(|t| t.users.iter().map(|u| u.username.clone()))
                    .collect()
            }
        }))
    }

    /// Fetches a host's terminals once.
    fn fetch_terminals(&self, host: Id) {
        if !self
            .requested
            .try_update_value(|r| r.insert(host))
            .unwrap_or(false)
        {
            return;
        }
        let terminals = self.terminals;
        leptos::task::spawn_local(async move {
            if let Ok(d) = api::get::<HostDetail>(&format!("/hosts/{host}")).await {
                terminals.update(|m| {
                    m.insert(host, d.terminals);
                });
            }
        });
    }

    /// Values to offer for `attr` on a step of `kind`.
    fn for_attr(&self, attr: &str, kind: &str) -> Option<Vec<String>> {
        let fixed = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
        match attr {
            "script" => Some(self.scripts.with(|list| {
                list.iter()
                    .filter(|(_, k)| (kind == "sql") == (*k == ScriptKind::Sql))
                    .map(|(name, _)| name.clone())
                    .collect()
            })),
            "host" => Some(
                self.hosts
                    .with(|h| h.iter().map(|h| h.name.clone()).collect()),
            ),
            "dataSource" => Some(self.data_sources.get()),
            "method" => fixed(&["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
            "direction" => fixed(&["GET", "PUT"]),
            "connectionType" => fixed(&["SSH", "WinRM", "SFTP", "SCP"]),
            "tool" => fixed(&["read", "write", "rename", "delete"]),
            "query" | "inCloud" | "idempotent" | "tls" => fixed(&["true", "false"]),
            _ => None,
        }
    }
}

/// The properties of the selected element.
#[component]
fn Properties(
    props: ElementProps,
    set: impl Fn(String, String) + Copy + Send + Sync + 'static,
    suggest: Suggestions,
) -> impl IntoView {
    let missing = props.missing();
    let kinds = props.is_task().then(|| {
        let current = props.lwams.get("kind").cloned().unwrap_or_default();
        view! {
            <label>
                {t("editor-kind")}
                <select data-testid="prop-kind" on:change=move |ev| set("lwams:kind".into(), event_target_value(&ev))>
                    <option value="" selected=current.is_empty()>"—"</option>
                    {shared::bpmn::lwams::KINDS
                        .iter()
                        .filter(|k| !matches!(k.kind, "userTask" | "callActivity"))
                        .map(|k| view! { <option value=k.kind selected=current == k.kind>{k.label}</option> })
                        .collect_view()}
                </select>
            </label>
        }
    });
    let fields = props
        .fields()
        .into_iter()
        .map(|(attr, required)| {
            let value = props.lwams.get(&attr).cloned().unwrap_or_default();
            let invalid = required && value.trim().is_empty();
            let long = matches!(attr.as_str(), "command" | "sql" | "body" | "headers");
            let name = format!("lwams:{attr}");
            let testid = format!("prop-{attr}");
            let text = tr(&format!("param-{attr}"));
            let label = if required { format!("{text} *") } else { text };
            let list_id = format!("suggest-{attr}");
            let options = {
                let (attr, lwams) = (attr.clone(), props.lwams.clone());
                Signal::derive(move || suggest.values(&attr, &lwams))
            };
            let listed = options.with_untracked(Option::is_some);
            // An empty list says so ("None yet.") instead of offering nothing.
            let placeholder = move || {
                options
                    .with(|o| o.as_ref().is_some_and(Vec::is_empty))
                    .then(|| tr("common-none-yet"))
            };
            view! {
                <label class:invalid=invalid title=format!("lwams:{attr}")>
                    {label}
                    {if long {
                        view! { <textarea rows="4" data-testid=testid prop:value=value on:change=move |ev| set(name.clone(), event_target_value(&ev))></textarea> }.into_any()
                    } else {
                        view! {
                            <input data-testid=testid list=listed.then(|| list_id.clone()) placeholder=placeholder prop:value=value on:change=move |ev| set(name.clone(), event_target_value(&ev)) />
                            {listed.then(|| view! {
                                <datalist id=list_id.clone() data-testid=format!("suggest-{attr}")>
                                    {move || options.get().unwrap_or_default().into_iter().map(|v| view! { <option value=v></option> }).collect_view()}
                                </datalist>
                            })}
                        }.into_any()
                    }}
                </label>
            }
        })
        .collect_view();
    view! {
        <h3 data-testid="prop-id">{props.id.clone()}</h3>
        <p class="muted">{props.kind.trim_start_matches("bpmn:").to_string()}</p>
        <label>
            {t("common-name")}
            <input data-testid="prop-name" prop:value=props.name.clone() on:change=move |ev| set("name".into(), event_target_value(&ev)) />
        </label>
        {kinds}
        {fields}
        {(!missing.is_empty()).then(|| view! { <p class="error">{t("editor-missing")} " " {missing.join(", ")}</p> })}
    }
}

/// The diagram as BPMN XML; bpmn-js's refusal goes to `failure`.
#[cfg(feature = "hydrate")]
async fn diagram_xml(
    modeler: StoredValue<Option<crate::diagram::Modeler>, LocalStorage>,
    failure: RwSignal<Option<String>>,
) -> Option<String> {
    let m = modeler.get_value()?;
    match m.save_xml().await {
        Ok(xml) => Some(xml),
        Err(e) => {
            failure.set(Some(e));
            None
        }
    }
}

/// What the diagram can be exported as.
#[derive(Clone, Copy)]
enum Export {
    Bpmn,
    Svg,
    Png,
}

impl Export {
    fn extension(self) -> &'static str {
        match self {
            Export::Bpmn => "bpmn",
            Export::Svg => "svg",
            Export::Png => "png",
        }
    }

    fn mime(self) -> &'static str {
        match self {
            Export::Bpmn => "application/xml",
            Export::Svg => "image/svg+xml",
            Export::Png => "image/png",
        }
    }
}

/// Offers `bytes` as a file download (browser only).
#[cfg(feature = "hydrate")]
fn download(name: &str, bytes: &[u8], mime: &str) {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(a) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_flow_key_is_the_process_id() {
        assert_eq!(
            super::process_id(super::NEW_FLOW).as_deref(),
            Some("new-flow")
        );
        assert_eq!(
            super::process_id(r#"<definitions><process id="p1" isExecutable="true">"#).as_deref(),
            Some("p1")
        );
        assert_eq!(super::process_id("<definitions/>"), None);
    }
}
