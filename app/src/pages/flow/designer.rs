//! Flow › Editor › design: the bpmn-js Modeler (through `diagram.rs`) with a properties
//! panel written in Leptos. Every edit is an undoable bpmn-js command; steps missing
//! required parameters are marked red and listed; "Deploy new version" (Ctrl+S) asks
//! for the basic data (`basic_data.rs`) and saves the diagram as a new immutable
//! version, refused when someone deployed meanwhile (optimistic check, "changed by X
//! at T"); older versions open read-only; import and
//! export .bpmn, SVG and PNG (drawn from the SVG on a canvas, 2×).
// The modeler exists in the browser only: on the server this page renders its frame.
#![cfg_attr(
    not(feature = "hydrate"),
    allow(unused_imports, unused_variables, dead_code)
)]

use crate::api::{self, encode, ApiError, Method};
use crate::components::browser::{chosen_file_text, download, guard_leaving};
use crate::components::error_line::ErrorLine;
use crate::components::guard::{Guarded, PageTitle};
use crate::diagram::ElementProps;
use crate::i18n::{t, t_args, tr};
use crate::pages::flow::basic_data::{BasicData, BasicDataDialog};
use crate::pages::flow::monitor::when;
use crate::pages::flow::properties::{Properties, SetStructure, Suggestions};
use leptos::prelude::*;
use shared::dto::flow::{DeployBase, DeployFlow, FlowAbout, FlowDraft, FlowVersion, SaveDraft};
use shared::Function;

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
    // The variables the selected element may name in `${…}`.
    let scope = RwSignal::new(Vec::<String>::new());
    // The deploy's "basic data" step, open with the values it starts from.
    let basic_data = RwSignal::new(None::<BasicData>);
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
        let labels = crate::diagram::PaletteLabels::new(tr);
        leptos::task::spawn_local(async move {
            let el: web_sys::HtmlElement = el.into();
            let m = match crate::diagram::Modeler::mount(&el, &labels).await {
                Ok(m) => m,
                Err(e) => {
                    failure.set(Some(e));
                    return;
                }
            };
            m.on_selection(move |id| selected_id.set(id));
            m.on_change(move || {
                // An id changed (or its change was undone): follow the selected element.
                let now = modeler.with_value(|m| m.as_ref().and_then(|m| m.selection()));
                if now.is_some() && now != selected_id.get_untracked() {
                    selected_id.set(now);
                }
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
                let props = m.props(&el);
                let missing = props.as_ref().map(|p| p.missing()).unwrap_or_default();
                m.mark(&el, "lw-invalid", !missing.is_empty());
                let quoted = props.is_some_and(|p| !p.quoted_placeholders().is_empty());
                m.mark(&el, "lw-warning", quoted);
                if !missing.is_empty() {
                    bad.push((el, missing));
                }
            }
            invalid.set(bad);
        });
    });

    // The variables in scope of the selected element, read from the diagram as saved.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        changes.track();
        let Some(id) = selected_id.get() else {
            return;
        };
        leptos::task::spawn_local(async move {
            let Some(m) = modeler.get_value() else { return };
            let Ok(xml) = m.save_xml().await else { return };
            let vars = shared::bpmn::Document::parse(&xml)
                .ok()
                .and_then(|doc| {
                    doc.model
                        .processes
                        .iter()
                        .find(|p| {
                            p.nodes.iter().any(|n| n.id == id) || p.flows.iter().any(|f| f.id == id)
                        })
                        .map(|p| shared::bpmn::scope::variables_in_scope(p, &id))
                })
                .unwrap_or_else(|| {
                    shared::bpmn::scope::BUILTINS
                        .iter()
                        .map(|b| b.to_string())
                        .collect()
                });
            scope.set(vars);
        });
    });

    let set_structure: SetStructure =
        Callback::new(move |(field, a, b): (&'static str, String, String)| {
            #[cfg(feature = "hydrate")]
            if let Some(id) = selected_id.get_untracked() {
                modeler.with_value(|m| {
                    if let Some(m) = m {
                        m.set_structure(&id, field, &a, &b);
                    }
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (field, a, b);
        });

    // A new id for the selected element: checked against every id of the diagram.
    let rename = Callback::new(move |new: String| -> Option<String> {
        #[cfg(feature = "hydrate")]
        {
            let id = selected_id.get_untracked()?;
            modeler.with_value(|m| {
                let m = m.as_ref()?;
                let mut taken = m.element_ids();
                taken.extend(m.process().map(|(key, _)| key));
                match shared::validate::element_id(&new, &id, &taken) {
                    Err(e) => Some(e.message),
                    Ok(v) => {
                        if v != id {
                            m.set(&id, &[("id", v.as_str())]);
                            // Fields of other steps that still read the old id's result.
                            // (A label shares its element's properties: listed once.)
                            let users: std::collections::BTreeSet<String> = m
                                .element_ids()
                                .into_iter()
                                .filter_map(|e| m.props(&e))
                                .filter(|p| p.refers_to(&id))
                                .map(|p| p.id)
                                .collect();
                            if !users.is_empty() {
                                message.set(Some(format!(
                                    "{} ${{{id}…}}: {}",
                                    tr("editor-id-still-used"),
                                    users.into_iter().collect::<Vec<_>>().join(", ")
                                )));
                            }
                        }
                        None
                    }
                }
            })
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = new;
            None
        }
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

    // "Deploy new version" (Ctrl+S) asks for the basic data first.
    let deploy = move || {
        if read_only() || basic_data.with_untracked(Option::is_some) {
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            let (id, name) = modeler
                .with_value(|m| m.as_ref().and_then(|m| m.process()))
                .unwrap_or_default();
            let group = versions.with_untracked(|v| v.first().map(|f| f.about.group.clone()));
            basic_data.set(Some(BasicData {
                key: key.get_untracked().unwrap_or(id),
                name,
                about: FlowAbout {
                    group: group.unwrap_or_default(),
                    comments: String::new(),
                },
            }));
        }
    };
    let deploy_with = move |data: BasicData| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            // The key and name live in the diagram (the process id and name).
            if let Some(m) = modeler.get_value() {
                if m.process() != Some((data.key.clone(), data.name.clone())) {
                    m.set_process(&data.key, &data.name);
                }
            }
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
                about: data.about,
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
    guard_leaving(dirty, "editor-leave-unsaved");
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("s") {
                ev.prevent_default();
                deploy();
            }
        });
        on_cleanup(move || {
            handle.remove();
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
            if let Some(xml) = chosen_file_text(&ev).await {
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
                    Some(p) => view! { <Properties props=p set set_structure rename suggest scope=scope.into() /> }.into_any(),
                }}
                <Show when=move || !invalid.get().is_empty()>
                    <div class="card error-list" data-testid="missing-parameters">
                        <h3>{t("editor-missing")}</h3>
                        <ul>{move || invalid.get().into_iter().map(|(id, m)| view! { <li>{format!("{id}: {}", m.join(", "))}</li> }).collect_view()}</ul>
                    </div>
                </Show>
            </aside>
        </div>
        <BasicDataDialog
            open=basic_data
            key_fixed=Signal::derive(move || key.get().is_some())
            on_confirm=Callback::new(deploy_with)
        />
        <p class="muted small">{move || t_args("editor-versions-count", vec![("count", versions.get().len().to_string())])()}</p>
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
