//! The one module that talks to bpmn-js (the NavigatedViewer of npm `bpmn-js@18`,
//! served from `/vendor/bpmn-js/` and loaded on first use). The rest of the app sees a
//! typed API: show a diagram, colour nodes by state, follow clicks on nodes.

/// The CSS class a node state gets on the diagram (SPEC §5.2: green succeeded, blue
/// running, yellow paused / retried / skipped, pink failed or terminated; nodes never
/// reached stay black).
pub fn state_class(state: &str, attempt: u32, paused: bool) -> &'static str {
    match state {
        "completed" if attempt > 1 => "lw-node-retried",
        "completed" => "lw-node-completed",
        "active" if paused => "lw-node-paused",
        "active" => "lw-node-active",
        "skipped" => "lw-node-skipped",
        "failed" | "terminated" => "lw-node-failed",
        _ => "",
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
        .map(|(id, n)| (id.to_string(), state_class(&n.state, n.attempt, paused)))
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

        type EventBus;
        #[wasm_bindgen(method)]
        fn on(this: &EventBus, event: &str, handler: &js_sys::Function);

        type ElementRegistry;
        #[wasm_bindgen(method, js_name = get)]
        fn element(this: &ElementRegistry, id: &str) -> JsValue;
    }

    const SCRIPT: &str = "/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js";
    const STYLES: [&str; 3] = [
        "/vendor/bpmn-js/assets/diagram-js.css",
        "/vendor/bpmn-js/assets/bpmn-js.css",
        "/vendor/bpmn-js/assets/bpmn-font/css/bpmn-embedded.css",
    ];

    /// Loads bpmn-js once (script and styles); later calls return at once.
    async fn ensure_loaded() -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        if js_sys::Reflect::has(&window, &JsValue::from_str("BpmnJS")).unwrap_or(false) {
            return Ok(());
        }
        let doc = window.document().ok_or("no document")?;
        let head = doc.head().ok_or("no head")?;
        for href in STYLES {
            let link = doc.create_element("link").map_err(|_| "link")?;
            let _ = link.set_attribute("rel", "stylesheet");
            let _ = link.set_attribute("href", href);
            let _ = head.append_child(&link);
        }
        let existing = doc
            .query_selector(&format!("script[src='{SCRIPT}']"))
            .ok()
            .flatten();
        let script = match existing {
            Some(s) => s,
            None => {
                let s = doc.create_element("script").map_err(|_| "script")?;
                let _ = s.set_attribute("src", SCRIPT);
                let _ = head.append_child(&s);
                s
            }
        };
        let loaded = js_sys::Promise::new(&mut |resolve, reject| {
            let target: &web_sys::EventTarget = script.unchecked_ref();
            let _ = target.add_event_listener_with_callback("load", &resolve);
            let _ = target.add_event_listener_with_callback("error", &reject);
        });
        // The script may have loaded between the check and the listener.
        if !js_sys::Reflect::has(&window, &JsValue::from_str("BpmnJS")).unwrap_or(false) {
            JsFuture::from(loaded)
                .await
                .map_err(|_| format!("cannot load {SCRIPT}"))?;
        }
        Ok(())
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
}

#[cfg(feature = "hydrate")]
pub use js::Diagram;

#[cfg(test)]
mod tests {
    use super::*;
    use shared::dto::flow::NodeStatus;

    fn n(ni: u64, id: &str, state: &str, attempt: u32) -> NodeStatus {
        NodeStatus {
            ni,
            node_id: id.into(),
            state: state.into(),
            attempt,
            error: None,
            user_task: false,
        }
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
        assert_eq!(state_class("terminated", 1, false), "lw-node-failed");
    }
}
