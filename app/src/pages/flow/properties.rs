//! The designer's properties panel: the selected element's name, LWAMS kind and
//! parameters (with values suggested from the API and `${…}` completion of the
//! variables in scope), and the standard BPMN properties ops flows need — a sequence
//! flow's condition, a gateway's default flow, a timer's definition. Every edit goes to
//! bpmn-js as one undoable command (`diagram.rs`).
#![cfg_attr(not(feature = "hydrate"), allow(unused_variables, dead_code))]

use crate::api;
use crate::diagram::{ElementProps, TIMER_KINDS};
use crate::i18n::{t, tr};
use crate::session::use_session;
use leptos::prelude::*;
use shared::bpmn::lwams::{Runnable, StepKind};
use shared::dto::data_source::DataSource;
use shared::dto::host::{Host, HostDetail, Terminal};
use shared::dto::script::{Script, ScriptKind};
use shared::dto::{Id, Page};
use shared::{Function, Level};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Values offered while a parameter is typed (a `<datalist>`: free text and `${…}`
/// still work): the company's hosts and data sources, and each enumerated parameter's
/// values.
#[derive(Clone, Copy)]
pub struct Suggestions {
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
    pub fn load() -> Suggestions {
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
            let kind = lwams.get("kind").and_then(|k| StepKind::parse(k).ok());
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
    fn for_attr(&self, attr: &str, kind: Option<StepKind>) -> Option<Vec<String>> {
        let fixed = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
        match attr {
            "script" => Some(self.scripts.with(|list| {
                list.iter()
                    .filter(|(_, k)| (kind == Some(StepKind::Sql)) == (*k == ScriptKind::Sql))
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

/// Parameters holding free text where `${…}` completion helps (choices and names of
/// things have suggestion lists instead).
fn completes(attr: &str) -> bool {
    matches!(
        attr,
        "command"
            | "sql"
            | "url"
            | "headers"
            | "body"
            | "localFile"
            | "remoteFile"
            | "filename"
            | "newFilename"
            | "workDir"
            | "to"
            | "cc"
            | "subject"
            | "param"
            | "assignee"
            | "candidates"
            | "due"
    )
}

/// Sets a condition (`condition`, value), a default flow (`default`, flow id) or a
/// timer (`timer`, kind, expression) on the selected element.
pub type SetStructure = Callback<(&'static str, String, String)>;

/// The properties of the selected element.
#[component]
pub fn Properties(
    props: ElementProps,
    set: impl Fn(String, String) + Copy + Send + Sync + 'static,
    set_structure: SetStructure,
    /// Gives the element a new id; the answer is why it was refused.
    rename: Callback<String, Option<String>>,
    suggest: Suggestions,
    /// The variables the element may name in `${…}`.
    scope: Signal<Vec<String>>,
) -> impl IntoView {
    let missing = props.missing();
    let quoted: Vec<String> = props
        .quoted_placeholders()
        .iter()
        .map(|p| format!("${{{p}}}"))
        .collect();
    let id_problem = RwSignal::new(None::<String>);
    let kinds = props.is_task().then(|| {
        let current = props.lwams.get("kind").cloned().unwrap_or_default();
        view! {
            <label>
                {t("editor-kind")}
                <select data-testid="prop-kind" on:change=move |ev| set("lwams:kind".into(), event_target_value(&ev))>
                    <option value="" selected=current.is_empty()>"—"</option>
                    {StepKind::ALL
                        .into_iter()
                        .filter(|k| k.runnable() != Runnable::AsElement)
                        .map(|k| view! { <option value=k.as_str() selected=current == k.as_str()>{t(k.label_key())}</option> })
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
            let text = tr(&format!("param-{attr}"));
            let label = if required { format!("{text} *") } else { text };
            let options = {
                let (attr, lwams) = (attr.clone(), props.lwams.clone());
                Signal::derive(move || suggest.values(&attr, &lwams))
            };
            let on_set = Callback::new(move |v: String| set(name.clone(), v));
            view! {
                <label class:invalid=invalid title=format!("lwams:{attr}")>
                    {label}
                    <Field
                        attr=attr.clone()
                        value
                        long
                        options
                        scope
                        complete=completes(&attr)
                        on_set
                    />
                </label>
            }
        })
        .collect_view();
    let structure = structure_fields(&props, set_structure, scope);
    view! {
        <h3 data-testid="prop-id">{props.id.clone()}</h3>
        <p class="muted">{props.kind.trim_start_matches("bpmn:").to_string()}</p>
        <label class:invalid=move || id_problem.with(Option::is_some) title=t("editor-id-hint")>
            {t("editor-id")}
            <input
                data-testid="prop-id-input"
                spellcheck="false"
                prop:value=props.id.clone()
                on:change=move |ev| id_problem.set(rename.run(event_target_value(&ev)))
            />
            {move || id_problem.get().map(|p| view! { <small class="error" data-testid="prop-id-problem">{p}</small> })}
        </label>
        <label>
            {t("common-name")}
            <input data-testid="prop-name" prop:value=props.name.clone() on:change=move |ev| set("name".into(), event_target_value(&ev)) />
        </label>
        {kinds}
        {fields}
        {(!quoted.is_empty()).then(|| view! {
            <p class="warning" data-testid="prop-quoted-warning">{t("editor-quoted-placeholder")} " " {quoted.join(", ")}</p>
        })}
        {structure}
        {(!missing.is_empty()).then(|| view! { <p class="error">{t("editor-missing")} " " {missing.join(", ")}</p> })}
    }
}

/// A sequence flow's condition, a gateway's default flow, a timer's definition.
fn structure_fields(
    props: &ElementProps,
    set_structure: SetStructure,
    scope: Signal<Vec<String>>,
) -> impl IntoView {
    let s = props.structure.clone();
    let condition = s.condition.map(|c| {
        let on_set = Callback::new(move |v: String| set_structure.run(("condition", v, String::new())));
        view! {
            <label title="conditionExpression">
                {t("param-condition")}
                <Field attr="condition".to_string() value=c long=true options=Signal::derive(|| None) scope complete=true on_set />
                <small class="muted">{t("param-condition-hint")}</small>
            </label>
        }
    });
    let default_flow = s.default_flow.map(|current| {
        let outgoing = s.outgoing.clone();
        view! {
            <label title="default">
                {t("param-default-flow")}
                <select data-testid="prop-default" on:change=move |ev| set_structure.run(("default", event_target_value(&ev), String::new()))>
                    <option value="" selected=current.is_empty()>"—"</option>
                    {outgoing.into_iter().map(|(id, label)| {
                        let selected = id == current;
                        view! { <option value=id.clone() selected=selected>{format!("{id} {label}")}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
    });
    let timer = s.timer.map(|(kind, value)| {
        let kind = RwSignal::new(if kind.is_empty() { TIMER_KINDS[0].to_string() } else { kind });
        let value = RwSignal::new(value);
        let invalid = move || value.with(|v| v.trim().is_empty());
        let placeholder = move || match kind.get().as_str() {
            "timeCycle" => "R3/PT10M",
            "timeDate" => "2026-12-24T08:00:00Z",
            _ => "PT5M",
        };
        let save = move || set_structure.run(("timer", kind.get_untracked(), value.get_untracked()));
        view! {
            <label>
                {t("param-timer-kind")}
                <select data-testid="prop-timer-kind" on:change=move |ev| { kind.set(event_target_value(&ev)); save(); }>
                    {TIMER_KINDS.into_iter().map(|k| {
                        view! { <option value=k selected=move || kind.get() == k>{tr(&format!("timer-{k}"))}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class:invalid=invalid title=move || kind.get()>
                {t("param-timer")} " *"
                <input data-testid="prop-timer" placeholder=placeholder prop:value=move || value.get()
                    on:change=move |ev| { value.set(event_target_value(&ev)); save(); } />
            </label>
        }
    });
    view! { {condition} {default_flow} {timer} }
}

/// One parameter's input (a textarea for long text), with the values `options` offers
/// (a `<datalist>`; "None yet." when the list is empty) and, given a `scope`, a list of
/// the variables in scope that opens while `${…}` is typed (↑ ↓ to move, Enter or Tab to
/// take, Esc to close).
#[component]
fn Field(
    attr: String,
    value: String,
    long: bool,
    options: Signal<Option<Vec<String>>>,
    scope: Signal<Vec<String>>,
    /// Whether `${…}` completion is offered.
    complete: bool,
    on_set: Callback<String>,
) -> impl IntoView {
    let testid = format!("prop-{attr}");
    let list_id = format!("suggest-{attr}");
    let listed = options.with_untracked(Option::is_some);
    let placeholder = move || {
        if complete {
            return Some(tr("editor-variables-hint"));
        }
        options
            .with(|o| o.as_ref().is_some_and(Vec::is_empty))
            .then(|| tr("common-none-yet"))
    };
    let completion = Completion::new(complete.then_some(scope), testid.clone());
    let input = move |ev: leptos::ev::Event| completion.typed(&ev);
    let keydown = move |ev: leptos::ev::KeyboardEvent| completion.key(&ev, on_set);
    let blur = move |_| completion.close();
    let field = if long {
        view! {
            <textarea rows="4" data-testid=testid.clone() placeholder=placeholder prop:value=value autocomplete="off"
                on:change=move |ev| on_set.run(event_target_value(&ev))
                on:input=input on:keydown=keydown on:blur=blur></textarea>
        }
        .into_any()
    } else {
        view! {
            <input data-testid=testid.clone() list=listed.then(|| list_id.clone()) placeholder=placeholder prop:value=value autocomplete="off"
                on:change=move |ev| on_set.run(event_target_value(&ev))
                on:input=input on:keydown=keydown on:blur=blur />
        }
        .into_any()
    };
    view! {
        <span class="field-with-completion">
            {field}
            {listed.then(|| view! {
                <datalist id=list_id.clone() data-testid=format!("suggest-{attr}")>
                    {move || options.get().unwrap_or_default().into_iter().map(|v| view! { <option value=v></option> }).collect_view()}
                </datalist>
            })}
            {move || {
                let items = completion.matches();
                (!items.is_empty()).then(|| {
                    let active = completion.active.get();
                    view! {
                        <ul class="completion" role="listbox" data-testid=format!("complete-{attr}")>
                            {items.into_iter().enumerate().map(|(i, v)| {
                                let pick = v.clone();
                                view! {
                                    <li role="option" class:active=i == active aria-selected=(i == active).to_string()
                                        on:mousedown=move |ev| { ev.prevent_default(); completion.pick(&pick, on_set); }>
                                        {format!("${{{v}}}")}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                })
            }}
        </span>
    }
}

/// The state of `${…}` completion in one field.
#[derive(Clone, Copy)]
struct Completion {
    scope: Option<Signal<Vec<String>>>,
    /// The part of the name typed after `${` (None: closed).
    partial: RwSignal<Option<String>>,
    active: RwSignal<usize>,
    /// The field's `data-testid` (to find it again once the panel is redrawn).
    testid: StoredValue<String>,
    #[cfg(feature = "hydrate")]
    target: StoredValue<Option<web_sys::EventTarget>, LocalStorage>,
}

/// At most this many names are listed at once.
const MAX_COMPLETIONS: usize = 12;

impl Completion {
    fn new(scope: Option<Signal<Vec<String>>>, testid: String) -> Completion {
        Completion {
            scope,
            partial: RwSignal::new(None),
            active: RwSignal::new(0),
            testid: StoredValue::new(testid),
            #[cfg(feature = "hydrate")]
            target: StoredValue::new_local(None),
        }
    }

    fn close(&self) {
        self.partial.set(None);
    }

    /// The variables in scope whose name contains what was typed.
    fn matches(&self) -> Vec<String> {
        let (Some(scope), Some(partial)) = (self.scope, self.partial.get()) else {
            return vec![];
        };
        let wanted = partial.to_lowercase();
        scope.with(|all| {
            // Names starting with what was typed first, then those containing it.
            let (mut first, rest): (Vec<&String>, Vec<&String>) = all
                .iter()
                .filter(|v| v.to_lowercase().contains(&wanted))
                .partition(|v| v.to_lowercase().starts_with(&wanted));
            first.extend(rest);
            first.into_iter().take(MAX_COMPLETIONS).cloned().collect()
        })
    }

    fn typed(&self, ev: &leptos::ev::Event) {
        if self.scope.is_none() {
            return;
        }
        #[cfg(feature = "hydrate")]
        {
            let Some(target) = ev.target() else { return };
            let open = text_at_caret(&target).and_then(|(text, caret)| {
                shared::bpmn::scope::open_placeholder(&text[..caret]).map(str::to_string)
            });
            self.target.set_value(Some(target));
            self.active.set(0);
            self.partial.set(open);
        }
    }

    fn key(&self, ev: &leptos::ev::KeyboardEvent, on_set: Callback<String>) {
        let items = self.matches();
        if items.is_empty() {
            return;
        }
        match ev.key().as_str() {
            "ArrowDown" => self.active.update(|a| *a = (*a + 1) % items.len()),
            "ArrowUp" => self
                .active
                .update(|a| *a = (*a + items.len() - 1) % items.len()),
            "Enter" | "Tab" => {
                let chosen = items[self.active.get_untracked().min(items.len() - 1)].clone();
                self.pick(&chosen, on_set);
            }
            "Escape" => self.close(),
            _ => return,
        }
        ev.prevent_default();
    }

    /// Replaces the `${partial` before the caret with `${name}` and saves the value.
    fn pick(&self, name: &str, on_set: Callback<String>) {
        #[cfg(feature = "hydrate")]
        if let Some(target) = self.target.get_value() {
            if let Some((text, caret)) = text_at_caret(&target) {
                let (before, after) = text.split_at(caret);
                if let Some(at) = before.rfind("${") {
                    let close = if after.starts_with('}') { "" } else { "}" };
                    let value = format!("{}${{{name}{close}{after}", &before[..at]);
                    let caret = at + 2 + name.len() + 1;
                    set_text(&target, &value, caret);
                    on_set.run(value);
                    refocus(self.testid.get_value(), caret);
                }
            }
        }
        self.close();
    }
}

/// The text of an input or textarea and the caret as a byte offset into it.
#[cfg(feature = "hydrate")]
fn text_at_caret(target: &web_sys::EventTarget) -> Option<(String, usize)> {
    use wasm_bindgen::JsCast;
    let (text, caret16) = if let Some(t) = target.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        (t.value(), t.selection_start().ok().flatten()?)
    } else {
        let i = target.dyn_ref::<web_sys::HtmlInputElement>()?;
        (i.value(), i.selection_start().ok().flatten()?)
    };
    Some((text.clone(), byte_offset(&text, caret16 as usize)))
}

/// Sets the text of an input or textarea and puts the caret at byte offset `caret`.
#[cfg(feature = "hydrate")]
fn set_text(target: &web_sys::EventTarget, text: &str, caret: usize) {
    use wasm_bindgen::JsCast;
    let at = text[..caret.min(text.len())].encode_utf16().count() as u32;
    if let Some(t) = target.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        t.set_value(text);
        let _ = t.set_selection_range(at, at);
    } else if let Some(i) = target.dyn_ref::<web_sys::HtmlInputElement>() {
        i.set_value(text);
        let _ = i.set_selection_range(at, at);
    }
}

/// Puts the caret back at byte offset `caret` of the field `testid` once the panel,
/// redrawn by the change just made, shows it again.
#[cfg(feature = "hydrate")]
fn refocus(testid: String, caret: usize) {
    set_timeout(
        move || {
            use wasm_bindgen::JsCast;
            let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| {
                d.query_selector(&format!("[data-testid={testid}]"))
                    .ok()
                    .flatten()
            }) else {
                return;
            };
            if let Some(h) = el.dyn_ref::<web_sys::HtmlElement>() {
                let _ = h.focus();
            }
            if let Some((text, _)) = text_at_caret(el.as_ref()) {
                set_text(el.as_ref(), &text, caret);
            }
        },
        std::time::Duration::from_millis(30),
    );
}

/// The byte offset of the UTF-16 offset `units` (what the DOM counts) in `text`.
fn byte_offset(text: &str, units: usize) -> usize {
    let mut seen = 0;
    for (i, c) in text.char_indices() {
        if seen >= units {
            return i;
        }
        seen += c.len_utf16();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dom_caret_offsets_count_utf16_units_and_become_byte_offsets() {
        assert_eq!(super::byte_offset("echo ${a", 8), 8);
        // "磁盘" is two UTF-16 units and six bytes.
        assert_eq!(super::byte_offset("磁盘 ${x", 5), 9);
        // 🙂 is two UTF-16 units and four bytes.
        assert_eq!(super::byte_offset("🙂${", 2), 4);
        assert_eq!(super::byte_offset("ab", 10), 2);
    }

    #[test]
    fn free_text_parameters_complete_variables_and_names_of_things_do_not() {
        assert!(super::completes("command"));
        assert!(super::completes("url"));
        assert!(!super::completes("host"));
        assert!(!super::completes("dataSource"));
    }
}
