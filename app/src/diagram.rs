//! The one module that talks to bpmn-js (npm `bpmn-js@18`, served from
//! `/vendor/bpmn-js/` and loaded on first use): the NavigatedViewer for the monitor
//! (show a diagram, colour nodes by state, follow clicks) and the Modeler for the
//! designer (load and save XML, selection, read and set `lwams:` properties as undoable
//! commands, undo/redo, export SVG). The rest of the app sees typed Rust only.

use shared::bpmn::lwams::StepKind;
use shared::dto::status::NodeState;

/// An entry of the designer's LWAMS palette: creates a BPMN element of `bpmn_type`
/// with `lwams:kind` set (none for user tasks and call activities, which are BPMN types).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PaletteEntry {
    pub key: String,
    pub kind: Option<String>,
    pub bpmn_type: String,
    pub title: String,
    /// A small SVG badge as a data URL (our own icon per kind).
    pub icon: String,
}

/// The badge text and colour of each kind.
fn badge(kind: StepKind) -> (&'static str, &'static str) {
    match kind {
        StepKind::RemoteCommand => ("SSH", "#2563eb"),
        StepKind::LocalCommand => ("SH", "#0f766e"),
        StepKind::Sql => ("SQL", "#7c3aed"),
        StepKind::Http => ("HTTP", "#b45309"),
        StepKind::FileDistribution => ("FD", "#0369a1"),
        StepKind::FileOperation => ("FO", "#4d7c0f"),
        StepKind::Report => ("XLS", "#15803d"),
        StepKind::Rpa => ("RPA", "#be185d"),
        StepKind::Email => ("@", "#9333ea"),
        StepKind::UserTask => ("USER", "#c2410c"),
        StepKind::CallActivity => ("CALL", "#334155"),
        StepKind::Noop => ("·", "#64748b"),
    }
}

/// The badge of the context pad's "append LWAMS step" entry.
#[cfg(feature = "hydrate")]
const APPEND_BADGE: (&str, &str) = ("+", "#1d4ed8");

fn icon((text, colour): (&str, &str)) -> String {
    let size = if text.len() > 3 { 9 } else { 11 };
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='36' height='36'><rect x='2' y='6' width='32' height='24' rx='5' fill='white' stroke='{colour}' stroke-width='2'/><text x='18' y='22' font-family='sans-serif' font-size='{size}' font-weight='700' text-anchor='middle' fill='{colour}'>{text}</text></svg>"
    );
    let encoded: String = svg
        .chars()
        .map(|c| match c {
            '<' => "%3C".to_string(),
            '>' => "%3E".to_string(),
            '#' => "%23".to_string(),
            '"' => "%22".to_string(),
            ' ' => "%20".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("data:image/svg+xml,{encoded}")
}

/// Every LWAMS node kind the palette offers (SPEC §5.1), titled by `label` (the
/// translated message of `StepKind::label_key`).
pub fn palette_entries(label: impl Fn(StepKind) -> String) -> Vec<PaletteEntry> {
    StepKind::ALL
        .into_iter()
        .filter(|k| k.in_palette())
        .map(|k| {
            let (bpmn_type, kind) = match k {
                StepKind::UserTask => ("bpmn:UserTask", None),
                StepKind::CallActivity => ("bpmn:CallActivity", None),
                other => ("bpmn:ServiceTask", Some(other.as_str().to_string())),
            };
            PaletteEntry {
                key: k.as_str().to_string(),
                kind,
                bpmn_type: bpmn_type.into(),
                title: label(k),
                icon: icon(badge(k)),
            }
        })
        .collect()
}

/// The palette's labels in the UI language: each kind's (`StepKind::label_key`) and
/// the context pad's "append LWAMS step" entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaletteLabels {
    pub append: String,
    pub kinds: Vec<(StepKind, String)>,
}

impl PaletteLabels {
    /// Every label, through `tr` (a message id to its text).
    pub fn new(tr: impl Fn(&str) -> String) -> PaletteLabels {
        PaletteLabels {
            append: tr("editor-append-step"),
            kinds: StepKind::ALL
                .into_iter()
                .map(|k| (k, tr(k.label_key())))
                .collect(),
        }
    }

    /// The label of `kind` (its message id when it has none).
    pub fn kind(&self, kind: StepKind) -> String {
        self.kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| kind.label_key().to_string())
    }
}

/// A BPMN element as the designer's properties panel sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ElementProps {
    pub id: String,
    /// The BPMN type, e.g. `bpmn:ServiceTask`.
    pub kind: String,
    pub name: String,
    /// `lwams:` attributes by local name.
    pub lwams: std::collections::BTreeMap<String, String>,
    /// Conditions, default flows and timers (standard BPMN, not `lwams:` attributes).
    pub structure: Structure,
}

/// The standard BPMN properties the panel edits besides `lwams:` ones, read by bpmn-js
/// (as JSON) from the selected element.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Structure {
    /// A sequence flow leaving a gateway: its condition (CEL; empty when it has none).
    pub condition: Option<String>,
    /// An exclusive or inclusive gateway: its default flow (empty: none) …
    pub default_flow: Option<String>,
    /// … chosen among its outgoing flows (id, what to call it).
    #[serde(default)]
    pub outgoing: Vec<(String, String)>,
    /// A timer event: `timeDate`, `timeDuration` or `timeCycle` (empty: not set yet) and
    /// its expression.
    pub timer: Option<(String, String)>,
}

/// The three kinds of BPMN timer, as the panel offers them.
pub const TIMER_KINDS: [&str; 3] = ["timeDuration", "timeCycle", "timeDate"];

impl ElementProps {
    /// Whether the element is a step that takes an LWAMS kind (tasks).
    pub fn is_task(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "bpmn:Task"
                | "bpmn:ServiceTask"
                | "bpmn:ScriptTask"
                | "bpmn:SendTask"
                | "bpmn:BusinessRuleTask"
        )
    }

    /// Its LWAMS kind: `lwams:kind`, else what its BPMN type implies (an unknown
    /// `lwams:kind` is none: validation names it).
    pub fn lwams_kind(&self) -> Option<StepKind> {
        match self.lwams.get("kind").filter(|k| !k.is_empty()) {
            Some(k) => StepKind::parse(k).ok(),
            None => match self.kind.as_str() {
                "bpmn:UserTask" => Some(StepKind::UserTask),
                "bpmn:CallActivity" => Some(StepKind::CallActivity),
                _ => None,
            },
        }
    }

    /// The parameters the panel shows for it, with whether each is required: the
    /// kind's required ones first, then its optional ones, then the common step ones.
    pub fn fields(&self) -> Vec<(String, bool)> {
        let Some(kind) = self.lwams_kind() else {
            return vec![];
        };
        let mut out: Vec<(String, bool)> = Vec::new();
        for r in kind.required() {
            for a in r.split('|') {
                // "a|b": either will do, so neither alone is marked required.
                out.push((a.to_string(), !r.contains('|')));
            }
        }
        for a in kind.optional() {
            out.push((a.to_string(), false));
        }
        if self.is_task() {
            for a in shared::bpmn::lwams::COMMON_STEP_PARAMETERS {
                out.push((a.to_string(), false));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|(a, _)| seen.insert(a.clone()));
        out
    }

    /// Whether any of its fields (parameters, condition) uses node `id`'s variables.
    pub fn refers_to(&self, id: &str) -> bool {
        self.lwams
            .values()
            .chain(self.structure.condition.as_ref())
            .any(|v| shared::bpmn::scope::refers_to(v, id))
    }

    /// Placeholders of its command written inside quotes: not needed, since values
    /// arrive as data (a variable of the shell), never as code — marked on the diagram
    /// (`lw-warning`) and said under the fields.
    pub fn quoted_placeholders(&self) -> Vec<String> {
        let Some(command) = self.lwams.get("command") else {
            return vec![];
        };
        let mut out: Vec<String> = Vec::new();
        for (path, _) in shared::vars::data::quoted(command, shared::vars::data::Lang::Sh) {
            if !out.contains(&path) {
                out.push(path);
            }
        }
        out
    }

    /// Required parameters left empty (marked red on the diagram and listed).
    pub fn missing(&self) -> Vec<String> {
        if let Some((kind, value)) = &self.structure.timer {
            if kind.is_empty() || value.trim().is_empty() {
                return vec!["timer".into()];
            }
        }
        let Some(kind) = self.lwams_kind() else {
            return vec![];
        };
        kind.required()
            .iter()
            .filter(|r| {
                !r.split('|')
                    .any(|a| self.lwams.get(a).is_some_and(|v| !v.trim().is_empty()))
            })
            .map(|r| r.replace('|', " or "))
            .collect()
    }
}

/// The CSS class a node state gets on the diagram (SPEC §5.2: green succeeded, blue
/// running, yellow paused / retried / skipped, pink failed or terminated; nodes never
/// reached stay black).
pub fn state_class(state: NodeState, attempt: u32, paused: bool) -> &'static str {
    match state {
        NodeState::Completed if attempt > 1 => "lw-node-retried",
        NodeState::Completed => "lw-node-completed",
        NodeState::Active if paused => "lw-node-paused",
        NodeState::Active => "lw-node-active",
        NodeState::Skipped => "lw-node-skipped",
        NodeState::Failed | NodeState::Terminated => "lw-node-failed",
    }
}

/// Every class `state_class` may return (to clear a node before colouring it again).
pub const STATE_CLASSES: [&str; 6] = [
    "lw-node-completed",
    "lw-node-retried",
    "lw-node-paused",
    "lw-node-active",
    "lw-node-skipped",
    "lw-node-failed",
];

/// Per node id, the class of its latest node instance.
pub fn markers(
    nodes: &[shared::dto::flow::NodeStatus],
    paused: bool,
) -> Vec<(String, &'static str)> {
    let mut latest: std::collections::BTreeMap<&str, &shared::dto::flow::NodeStatus> =
        std::collections::BTreeMap::new();
    for n in nodes {
        latest
            .entry(n.node_id.as_str())
            .and_modify(|m| {
                if n.ni > m.ni {
                    *m = n
                }
            })
            .or_insert(n);
    }
    latest
        .into_iter()
        .map(|(id, n)| (id.to_string(), state_class(n.state, n.attempt, paused)))
        .filter(|(_, c)| !c.is_empty())
        .collect()
}

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;

    #[wasm_bindgen]
    extern "C" {
        /// `window.BpmnJS` from `bpmn-navigated-viewer.production.min.js`.
        #[derive(Clone)]
        #[wasm_bindgen(js_name = BpmnJS)]
        pub type Viewer;

        #[wasm_bindgen(constructor, js_class = "BpmnJS")]
        pub fn new(options: &JsValue) -> Viewer;

        #[wasm_bindgen(method, js_name = importXML)]
        fn import_xml(this: &Viewer, xml: &str) -> js_sys::Promise;

        #[wasm_bindgen(method)]
        fn get(this: &Viewer, service: &str) -> JsValue;

        #[wasm_bindgen(method)]
        fn destroy(this: &Viewer);
    }

    #[wasm_bindgen]
    extern "C" {
        type Canvas;
        #[wasm_bindgen(method, js_name = addMarker)]
        fn add_marker(this: &Canvas, id: &str, class: &str);
        #[wasm_bindgen(method, js_name = removeMarker)]
        fn remove_marker(this: &Canvas, id: &str, class: &str);
        #[wasm_bindgen(method)]
        fn zoom(this: &Canvas, how: &str) -> JsValue;
        #[wasm_bindgen(method, js_name = zoom)]
        fn zoom_centered(this: &Canvas, how: &str, center: &str) -> JsValue;

        type EventBus;
        #[wasm_bindgen(method)]
        fn on(this: &EventBus, event: &str, handler: &js_sys::Function);

        type ElementRegistry;
        #[wasm_bindgen(method, js_name = get)]
        fn element(this: &ElementRegistry, id: &str) -> JsValue;
    }

    #[wasm_bindgen]
    extern "C" {
        /// The modeler's `BpmnJS`, kept under the global name `BpmnJSModeler`.
        #[derive(Clone)]
        #[wasm_bindgen(js_name = BpmnJSModeler)]
        pub type ModelerJs;

        #[wasm_bindgen(constructor, js_class = "BpmnJSModeler")]
        fn new(options: &JsValue) -> ModelerJs;

        #[wasm_bindgen(method, js_name = importXML)]
        fn import_xml(this: &ModelerJs, xml: &str) -> js_sys::Promise;

        #[wasm_bindgen(method, js_name = saveXML)]
        fn save_xml(this: &ModelerJs, options: &JsValue) -> js_sys::Promise;

        #[wasm_bindgen(method, js_name = saveSVG)]
        fn save_svg(this: &ModelerJs) -> js_sys::Promise;

        #[wasm_bindgen(method, js_name = get)]
        fn service(this: &ModelerJs, name: &str) -> JsValue;

        #[wasm_bindgen(method, js_name = destroy)]
        fn destroy_modeler(this: &ModelerJs);
    }

    const SCRIPT: &str = "/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js";
    const MODELER_SCRIPT: &str = "/vendor/bpmn-js/bpmn-modeler.production.min.js";
    const STYLES: [&str; 3] = [
        "/vendor/bpmn-js/assets/diagram-js.css",
        "/vendor/bpmn-js/assets/bpmn-js.css",
        "/vendor/bpmn-js/assets/bpmn-font/css/bpmn-embedded.css",
    ];

    /// Loads the bpmn-js modeler once, under the global `BpmnJSModeler` (both bundles
    /// define `BpmnJS`; the viewer's, if loaded, is put back).
    async fn ensure_modeler() -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        let has =
            |name: &str| js_sys::Reflect::has(&window, &JsValue::from_str(name)).unwrap_or(false);
        if !has("LwamsDiagram") {
            load_script(BRIDGE_SCRIPT, "LwamsDiagram").await?;
        }
        if has("BpmnJSModeler") {
            return Ok(());
        }
        let viewer = js_sys::Reflect::get(&window, &"BpmnJS".into()).unwrap_or(JsValue::UNDEFINED);
        let _ = js_sys::Reflect::delete_property(&window, &"BpmnJS".into());
        load_script(MODELER_SCRIPT, "BpmnJS").await?;
        let modeler = js_sys::Reflect::get(&window, &"BpmnJS".into()).unwrap_or(JsValue::UNDEFINED);
        let _ = js_sys::Reflect::set(&window, &"BpmnJSModeler".into(), &modeler);
        if viewer.is_undefined() {
            let _ = js_sys::Reflect::delete_property(&window, &"BpmnJS".into());
        } else {
            let _ = js_sys::Reflect::set(&window, &"BpmnJS".into(), &viewer);
        }
        Ok(())
    }

    /// Loads bpmn-js's viewer once (script and styles); later calls return at once.
    async fn ensure_loaded() -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        if js_sys::Reflect::has(&window, &JsValue::from_str("BpmnJS")).unwrap_or(false) {
            return Ok(());
        }
        load_script(SCRIPT, "BpmnJS").await
    }

    /// Adds bpmn-js's styles (once) and the script at `src`, and waits until it has
    /// defined `global`.
    async fn load_script(src: &str, global: &str) -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        let doc = window.document().ok_or("no document")?;
        let head = doc.head().ok_or("no head")?;
        for href in STYLES {
            if doc
                .query_selector(&format!("link[href='{href}']"))
                .ok()
                .flatten()
                .is_some()
            {
                continue;
            }
            let link = doc.create_element("link").map_err(|_| "link")?;
            let _ = link.set_attribute("rel", "stylesheet");
            let _ = link.set_attribute("href", href);
            let _ = head.append_child(&link);
        }
        let script = doc.create_element("script").map_err(|_| "script")?;
        let _ = script.set_attribute("src", src);
        let loaded = js_sys::Promise::new(&mut |resolve, reject| {
            let target: &web_sys::EventTarget = script.unchecked_ref();
            let _ = target.add_event_listener_with_callback("load", &resolve);
            let _ = target.add_event_listener_with_callback("error", &reject);
        });
        let _ = head.append_child(&script);
        JsFuture::from(loaded)
            .await
            .map_err(|_| format!("cannot load {src}"))?;
        if !js_sys::Reflect::has(&window, &JsValue::from_str(global)).unwrap_or(false) {
            return Err(format!("{src} did not define {global}"));
        }
        Ok(())
    }

    fn js_error(e: JsValue) -> String {
        js_sys::Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "bpmn-js failed".into())
    }

    /// The designer's bridge script (`public/lwams-diagram.js`, served at the site root),
    /// loaded with the modeler.
    const BRIDGE_SCRIPT: &str = "/lwams-diagram.js";

    /// A function of the bridge script (`window.LwamsDiagram[name]`).
    fn bridge(name: &str) -> Result<js_sys::Function, String> {
        let window = web_sys::window().ok_or("no window")?;
        let b = js_sys::Reflect::get(&window, &"LwamsDiagram".into()).map_err(js_error)?;
        js_sys::Reflect::get(&b, &name.into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(|| format!("{BRIDGE_SCRIPT} has no {name}"))
    }

    fn palette_module(labels: &super::PaletteLabels) -> Result<JsValue, String> {
        let entries = super::palette_entries(|k| labels.kind(k));
        let entries = serde_json::to_string(&entries).map_err(|e| e.to_string())?;
        let entries = js_sys::JSON::parse(&entries).map_err(js_error)?;
        let append = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&append, &"append".into(), &labels.append.as_str().into());
        let _ = js_sys::Reflect::set(
            &append,
            &"icon".into(),
            &super::icon(super::APPEND_BADGE).into(),
        );
        bridge("paletteModule")?
            .call2(&JsValue::NULL, &entries, &append)
            .map_err(js_error)
    }

    /// The designer's modeler.
    #[derive(Clone)]
    pub struct Modeler {
        js: ModelerJs,
        /// The bridge's `readStructure` (it runs for every element on every change).
        read_structure: js_sys::Function,
    }

    impl Modeler {
        /// Mounts a modeler in `container` (keyboard shortcuts bound to the document) with
        /// the `lwams:` moddle extension; `labels` title the palette's kinds and the
        /// context pad's "append LWAMS step" entry.
        pub async fn mount(
            container: &web_sys::HtmlElement,
            labels: &super::PaletteLabels,
        ) -> Result<Modeler, String> {
            ensure_modeler().await?;
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"container".into(), container);
            let keyboard = js_sys::Object::new();
            let doc = web_sys::window()
                .and_then(|w| w.document())
                .ok_or("no document")?;
            let _ = js_sys::Reflect::set(&keyboard, &"bindTo".into(), &doc);
            let _ = js_sys::Reflect::set(&options, &"keyboard".into(), &keyboard);
            let extensions = js_sys::Object::new();
            let descriptor =
                js_sys::JSON::parse(&shared::bpmn::lwams::moddle_descriptor().to_string())
                    .map_err(js_error)?;
            let _ = js_sys::Reflect::set(&extensions, &"lwams".into(), &descriptor);
            let _ = js_sys::Reflect::set(&options, &"moddleExtensions".into(), &extensions);
            let modules = js_sys::Array::of1(&palette_module(labels)?);
            let _ = js_sys::Reflect::set(&options, &"additionalModules".into(), &modules);
            Ok(Modeler {
                js: ModelerJs::new(&options),
                read_structure: bridge("readStructure")?,
            })
        }

        /// Loads a diagram; on error the current one stays and the parser's message
        /// comes back.
        pub async fn load(&self, xml: &str) -> Result<(), String> {
            JsFuture::from(self.js.import_xml(xml))
                .await
                .map_err(js_error)?;
            let canvas: Canvas = self.js.service("canvas").unchecked_into();
            canvas.zoom_centered("fit-viewport", "auto");
            Ok(())
        }

        pub async fn save_xml(&self) -> Result<String, String> {
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"format".into(), &JsValue::TRUE);
            let r = JsFuture::from(self.js.save_xml(&options))
                .await
                .map_err(js_error)?;
            js_sys::Reflect::get(&r, &"xml".into())
                .ok()
                .and_then(|x| x.as_string())
                .ok_or_else(|| "bpmn-js returned no XML".into())
        }

        pub async fn save_svg(&self) -> Result<String, String> {
            let r = JsFuture::from(self.js.save_svg()).await.map_err(js_error)?;
            js_sys::Reflect::get(&r, &"svg".into())
                .ok()
                .and_then(|x| x.as_string())
                .ok_or_else(|| "bpmn-js returned no SVG".into())
        }

        fn element(&self, id: &str) -> Option<JsValue> {
            let registry: ElementRegistry = self.js.service("elementRegistry").unchecked_into();
            let el = registry.element(id);
            (!el.is_undefined() && !el.is_null()).then_some(el)
        }

        /// The element's id, type, name and `lwams:` attributes.
        pub fn props(&self, id: &str) -> Option<super::ElementProps> {
            let el = self.element(id)?;
            let bo = js_sys::Reflect::get(&el, &"businessObject".into()).ok()?;
            let field = |k: &str| {
                js_sys::Reflect::get(&bo, &k.into())
                    .ok()
                    .and_then(|v| v.as_string())
                    .unwrap_or_default()
            };
            // Declared by the moddle extension: read as `bo.get('lwams:x')`.
            let getter = js_sys::Reflect::get(&bo, &"get".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())?;
            let mut lwams = std::collections::BTreeMap::new();
            for a in shared::bpmn::lwams::ATTRIBUTES {
                if let Some(v) = getter
                    .call1(&bo, &format!("lwams:{a}").into())
                    .ok()
                    .and_then(|v| v.as_string())
                {
                    lwams.insert(a.to_string(), v);
                }
            }
            let structure = self
                .read_structure
                .call1(&JsValue::NULL, &bo)
                .ok()
                .and_then(|j| j.as_string())
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default();
            Some(super::ElementProps {
                id: field("id"),
                kind: field("$type"),
                name: field("name"),
                lwams,
                structure,
            })
        }

        /// Sets properties (`name`, `lwams:command`, …) as one undoable command; an
        /// empty value removes the attribute.
        pub fn set(&self, id: &str, values: &[(&str, &str)]) {
            let Some(el) = self.element(id) else { return };
            let props = js_sys::Object::new();
            for (k, v) in values {
                let value = if v.is_empty() && *k != "name" {
                    JsValue::UNDEFINED
                } else {
                    JsValue::from_str(v)
                };
                let _ = js_sys::Reflect::set(&props, &(*k).into(), &value);
            }
            let modeling = self.js.service("modeling");
            if let Some(f) = js_sys::Reflect::get(&modeling, &"updateProperties".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            {
                let _ = f.call2(&modeling, &el, &props);
            }
        }

        /// The flow's process id (its key) and name: the root's, or for a collaboration
        /// its first participant's process.
        pub fn process(&self) -> Option<(String, String)> {
            let read = bridge("readProcess").ok()?;
            let j = read.call1(&JsValue::NULL, &self.js).ok()?.as_string()?;
            serde_json::from_str(&j).ok()
        }

        /// Renames the process (id = the flow key, name) as one undoable command.
        pub fn set_process(&self, id: &str, name: &str) {
            let done = bridge("writeProcess")
                .map_err(|e| JsValue::from_str(&e))
                .and_then(|write| write.call3(&JsValue::NULL, &self.js, &id.into(), &name.into()));
            if let Err(e) = done {
                web_sys::console::warn_1(&e);
            }
        }

        /// Sets a condition, a default flow or a timer (see `writeStructure` in the bridge script) as one
        /// undoable command.
        pub fn set_structure(&self, id: &str, field: &str, a: &str, b: &str) {
            let args =
                js_sys::Array::of5(&self.js, &id.into(), &field.into(), &a.into(), &b.into());
            let done = bridge("writeStructure")
                .map_err(|e| JsValue::from_str(&e))
                .and_then(|write| write.apply(&JsValue::NULL, &args));
            if let Err(e) = done {
                web_sys::console::warn_1(&e);
            }
        }

        fn command_stack(&self, method: &str) {
            let stack = self.js.service("commandStack");
            if let Some(f) = js_sys::Reflect::get(&stack, &method.into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            {
                let _ = f.call0(&stack);
            }
        }

        pub fn undo(&self) {
            self.command_stack("undo");
        }

        pub fn redo(&self) {
            self.command_stack("redo");
        }

        /// The selected element's id (`None`: nothing or several).
        pub fn selection(&self) -> Option<String> {
            let selection = self.js.service("selection");
            let list = js_sys::Reflect::get(&selection, &"get".into())
                .ok()?
                .dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&selection)
                .ok()?;
            let list = js_sys::Array::from(&list);
            if list.length() != 1 {
                return None;
            }
            js_sys::Reflect::get(&list.get(0), &"id".into())
                .ok()?
                .as_string()
        }

        /// Calls `f` with the selected element's id (`None`: nothing or several).
        pub fn on_selection(&self, f: impl Fn(Option<String>) + 'static) {
            let bus: EventBus = self.js.service("eventBus").unchecked_into();
            let handler = Closure::<dyn Fn(JsValue)>::new(move |e: JsValue| {
                let selected = js_sys::Reflect::get(&e, &"newSelection".into())
                    .ok()
                    .map(|v| js_sys::Array::from(&v))
                    .unwrap_or_default();
                let id = if selected.length() == 1 {
                    js_sys::Reflect::get(&selected.get(0), &"id".into())
                        .ok()
                        .and_then(|v| v.as_string())
                } else {
                    None
                };
                f(id);
            });
            bus.on("selection.changed", handler.as_ref().unchecked_ref());
            handler.forget();
        }

        /// Calls `f` after every change of the diagram (edits, undo, redo).
        pub fn on_change(&self, f: impl Fn() + 'static) {
            let bus: EventBus = self.js.service("eventBus").unchecked_into();
            let handler = Closure::<dyn Fn(JsValue)>::new(move |_: JsValue| f());
            bus.on("commandStack.changed", handler.as_ref().unchecked_ref());
            handler.forget();
        }

        /// Puts a marker class on an element, or takes it off (validation: `lw-invalid`).
        pub fn mark(&self, id: &str, class: &str, on: bool) {
            if self.element(id).is_none() {
                return;
            }
            let canvas: Canvas = self.js.service("canvas").unchecked_into();
            if on {
                canvas.add_marker(id, class);
            } else {
                canvas.remove_marker(id, class);
            }
        }

        /// Every element id of the diagram.
        pub fn element_ids(&self) -> Vec<String> {
            let registry = self.js.service("elementRegistry");
            let all = js_sys::Reflect::get(&registry, &"getAll".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                .and_then(|f| f.call0(&registry).ok())
                .map(|v| js_sys::Array::from(&v))
                .unwrap_or_default();
            all.iter()
                .filter_map(|e| js_sys::Reflect::get(&e, &"id".into()).ok()?.as_string())
                .collect()
        }

        pub fn destroy(&self) {
            self.js.destroy_modeler();
        }
    }

    /// A diagram shown in a container element.
    #[derive(Clone)]
    pub struct Diagram {
        viewer: Viewer,
    }

    impl Diagram {
        pub async fn show(container: &web_sys::HtmlElement, xml: &str) -> Result<Diagram, String> {
            ensure_loaded().await?;
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"container".into(), container);
            let viewer = Viewer::new(&options);
            JsFuture::from(viewer.import_xml(xml)).await.map_err(|e| {
                js_sys::Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| "the diagram cannot be shown".into())
            })?;
            let d = Diagram { viewer };
            d.canvas().zoom("fit-viewport");
            Ok(d)
        }

        fn canvas(&self) -> Canvas {
            self.viewer.get("canvas").unchecked_into()
        }

        /// Puts `class` on a node, if the diagram draws it.
        pub fn mark(&self, id: &str, class: &str) {
            let registry: ElementRegistry = self.viewer.get("elementRegistry").unchecked_into();
            if registry.element(id).is_undefined() {
                return;
            }
            let canvas = self.canvas();
            for c in super::STATE_CLASSES {
                canvas.remove_marker(id, c);
            }
            if !class.is_empty() {
                canvas.add_marker(id, class);
            }
        }

        /// Calls `f` with the id of a clicked node.
        pub fn on_click(&self, f: impl Fn(String) + 'static) {
            let bus: EventBus = self.viewer.get("eventBus").unchecked_into();
            let handler = Closure::<dyn Fn(JsValue)>::new(move |e: JsValue| {
                let id = js_sys::Reflect::get(&e, &"element".into())
                    .and_then(|el| js_sys::Reflect::get(&el, &"id".into()))
                    .ok()
                    .and_then(|v| v.as_string());
                if let Some(id) = id {
                    f(id);
                }
            });
            bus.on("element.click", handler.as_ref().unchecked_ref());
            handler.forget();
        }

        pub fn destroy(&self) {
            self.viewer.destroy();
        }
    }

    /// Renders an SVG (bpmn-js's export) to a PNG at `scale` on a white background.
    pub async fn svg_to_png(svg: &str, scale: f64) -> Result<Vec<u8>, String> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let img = web_sys::HtmlImageElement::new().map_err(js_error)?;
        let loaded = js_sys::Promise::new(&mut |resolve, reject| {
            img.set_onload(Some(&resolve));
            img.set_onerror(Some(&reject));
        });
        img.set_src(&format!(
            "data:image/svg+xml;charset=utf-8,{}",
            String::from(js_sys::encode_uri_component(svg))
        ));
        JsFuture::from(loaded)
            .await
            .map_err(|_| "the diagram could not be drawn as an image".to_string())?;
        let (w, h) = (img.natural_width() as f64, img.natural_height() as f64);
        if w < 1.0 || h < 1.0 {
            return Err("the diagram is empty".into());
        }
        let canvas: web_sys::HtmlCanvasElement = document
            .create_element("canvas")
            .map_err(js_error)?
            .unchecked_into();
        canvas.set_width((w * scale).ceil() as u32);
        canvas.set_height((h * scale).ceil() as u32);
        let ctx: web_sys::CanvasRenderingContext2d = canvas
            .get_context("2d")
            .map_err(js_error)?
            .ok_or("no 2D canvas")?
            .unchecked_into();
        ctx.set_fill_style_str("#ffffff");
        ctx.fill_rect(0.0, 0.0, w * scale, h * scale);
        ctx.scale(scale, scale).map_err(js_error)?;
        ctx.draw_image_with_html_image_element(&img, 0.0, 0.0)
            .map_err(js_error)?;
        let url = canvas
            .to_data_url_with_type("image/png")
            .map_err(js_error)?;
        let b64 = url
            .split_once(',')
            .map(|(_, b)| b)
            .ok_or("the canvas gave no PNG")?;
        let binary = web_sys::window()
            .ok_or("no window")?
            .atob(b64)
            .map_err(js_error)?;
        // `atob` gives one char per byte.
        Ok(binary.chars().map(|c| c as u32 as u8).collect())
    }
}

#[cfg(feature = "hydrate")]
pub use js::{svg_to_png, Diagram, Modeler};

#[cfg(test)]
mod tests {
    use super::*;
    use shared::dto::flow::NodeStatus;

    fn n(ni: u64, id: &str, state: &str, attempt: u32) -> NodeStatus {
        NodeStatus {
            ni,
            node_id: id.into(),
            state: NodeState::parse(state).unwrap(),
            attempt,
            error: None,
            user_task: false,
        }
    }

    fn props(kind: &str, attrs: &[(&str, &str)]) -> ElementProps {
        ElementProps {
            id: "x".into(),
            kind: kind.into(),
            name: String::new(),
            lwams: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            structure: Structure::default(),
        }
    }

    #[test]
    fn placeholders_written_inside_quotes_in_a_command_are_warned_about() {
        let mut p = ElementProps {
            id: "n".into(),
            kind: "bpmn:ServiceTask".into(),
            ..Default::default()
        };
        p.lwams.insert("kind".into(), "localCommand".into());
        p.lwams.insert(
            "command".into(),
            "echo \"${a}\" '${b}' ${c} \"${a}\" # '${d}'".into(),
        );
        assert_eq!(
            p.quoted_placeholders(),
            vec!["a".to_string(), "b".to_string()]
        );
        p.lwams.insert("command".into(), "echo ${a}".into());
        assert!(p.quoted_placeholders().is_empty());
    }

    #[test]
    fn the_panel_offers_a_kinds_parameters_and_names_the_missing_required_ones() {
        let p = props(
            "bpmn:ServiceTask",
            &[("kind", "remoteCommand"), ("host", "web1")],
        );
        let fields: Vec<_> = p.fields().into_iter().map(|(a, _)| a).collect();
        assert_eq!(&fields[..4], ["host", "terminal", "command", "script"]);
        assert!(fields.contains(&"timeout".to_string()));
        assert!(fields.contains(&"idempotent".to_string()));
        assert_eq!(p.missing(), ["terminal", "command or script"]);
        assert!(p.fields().iter().any(|(a, req)| a == "host" && *req));
        assert!(p.fields().iter().any(|(a, req)| a == "command" && !*req));
        let user = props("bpmn:UserTask", &[]);
        assert_eq!(user.lwams_kind(), Some(StepKind::UserTask));
        assert!(user.missing().is_empty());
        assert!(
            !user.fields().iter().any(|(a, _)| a == "retries"),
            "no step parameters on a user task"
        );
        assert!(props("bpmn:StartEvent", &[]).fields().is_empty());
    }

    #[test]
    fn the_structure_bpmn_js_reports_reads_as_conditions_default_flows_and_timers() {
        let s: Structure = serde_json::from_str(
            r#"{"condition":"size(x) > 0","defaultFlow":"no","outgoing":[["yes","→ wait"],["no","→ full"]],"timer":["timeDuration","PT5M"]}"#,
        )
        .unwrap();
        assert_eq!(s.condition.as_deref(), Some("size(x) > 0"));
        assert_eq!(s.default_flow.as_deref(), Some("no"));
        assert_eq!(s.outgoing[1], ("no".to_string(), "→ full".to_string()));
        assert_eq!(
            s.timer,
            Some(("timeDuration".to_string(), "PT5M".to_string()))
        );
        // A plain task reports nothing.
        assert_eq!(
            serde_json::from_str::<Structure>("{}").unwrap(),
            Structure::default()
        );
        // A timer without an expression is a missing parameter.
        let mut wait = props("bpmn:IntermediateCatchEvent", &[]);
        wait.structure.timer = Some((String::new(), String::new()));
        assert_eq!(wait.missing(), ["timer"]);
        wait.structure.timer = Some(("timeCycle".into(), "R3/PT10M".into()));
        assert!(wait.missing().is_empty());
    }

    #[test]
    fn the_palette_offers_every_lwams_kind_with_its_own_icon() {
        let entries = palette_entries(|k| format!("<{}>", k.label_key()));
        for k in StepKind::ALL.into_iter().filter(|k| *k != StepKind::Noop) {
            let e = entries
                .iter()
                .find(|e| e.key == k.as_str())
                .expect(k.as_str());
            assert_eq!(e.title, format!("<kind-{k}>"), "titled by its label");
            assert!(
                e.icon.starts_with("data:image/svg+xml,%3Csvg"),
                "{}",
                e.icon
            );
            assert!(!e.icon.contains('<') && !e.icon.contains('#'));
        }
        let user = entries.iter().find(|e| e.key == "userTask").unwrap();
        assert_eq!(
            (user.bpmn_type.as_str(), user.kind.as_deref()),
            ("bpmn:UserTask", None)
        );
        let ssh = entries.iter().find(|e| e.key == "remoteCommand").unwrap();
        assert_eq!(ssh.kind.as_deref(), Some("remoteCommand"));
        let icons: std::collections::BTreeSet<_> = entries.iter().map(|e| &e.icon).collect();
        assert_eq!(icons.len(), entries.len(), "one icon per kind");
    }

    #[test]
    fn node_states_map_to_the_spec_colours_by_their_latest_instance() {
        let nodes = [
            n(1, "start", "completed", 1),
            n(2, "loop", "failed", 1),
            n(3, "loop", "completed", 2),
            n(4, "wait", "active", 1),
            n(5, "skip", "skipped", 1),
        ];
        let m = markers(&nodes, false);
        assert_eq!(
            m,
            [
                ("loop".to_string(), "lw-node-retried"),
                ("skip".to_string(), "lw-node-skipped"),
                ("start".to_string(), "lw-node-completed"),
                ("wait".to_string(), "lw-node-active"),
            ]
        );
        assert_eq!(markers(&nodes, true)[3].1, "lw-node-paused");
        assert_eq!(
            state_class(NodeState::Terminated, 1, false),
            "lw-node-failed"
        );
    }
}
