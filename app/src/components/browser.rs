//! What pages ask of the browser: the file chosen in an `<input type=file>`, a file
//! download, and a guard against leaving unsaved changes. Without a browser (server
//! rendering, native tests) each does nothing.

use leptos::prelude::*;

/// A file the user chose: its name and its bytes, as they are on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The file chosen in the `<input type=file>` that fired `ev`, read as bytes; the input
/// is cleared so choosing the same file again fires again.
pub async fn chosen_file(ev: &leptos::ev::Event) -> Option<ChosenFile> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
        let file = input.files()?.get(0)?;
        let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
            .await
            .ok()?;
        input.set_value("");
        Some(ChosenFile {
            name: file.name(),
            bytes: js_sys::Uint8Array::new(&buffer).to_vec(),
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        None
    }
}

/// The chosen file read as UTF-8 text (the designer opens a diagram it then edits).
pub async fn chosen_file_text(ev: &leptos::ev::Event) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
        let file = input.files()?.get(0)?;
        let text = wasm_bindgen_futures::JsFuture::from(file.text())
            .await
            .ok()?;
        input.set_value("");
        text.as_string()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        None
    }
}

/// Offers `bytes` as a file download named `name`.
pub fn download(name: &str, bytes: &[u8], mime: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        else {
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
    #[cfg(not(feature = "hydrate"))]
    let _ = (name, bytes, mime);
}

/// While `dirty` is set, asks (`message`, a label key) before the page is left: a
/// reload or closed tab (the browser's own question) and a click on one of the app's
/// links (caught ahead of the router). A "yes" clears `dirty`. Removed with the
/// component that calls it.
pub fn guard_leaving(dirty: RwSignal<bool>, message: &'static str) {
    #[cfg(feature = "hydrate")]
    {
        let unload = window_event_listener(leptos::ev::beforeunload, move |ev| {
            if dirty.get_untracked() {
                ev.prevent_default();
                ev.set_return_value("unsaved");
            }
        });
        let links = links::guard(dirty, message);
        on_cleanup(move || {
            unload.remove();
            links.take().remove();
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (dirty, message);
}

#[cfg(feature = "hydrate")]
mod links {
    use crate::i18n::tr;
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;

    /// A click listener (capture phase) on the document; `remove` takes it off.
    pub struct LinkGuard(wasm_bindgen::closure::Closure<dyn Fn(web_sys::MouseEvent)>);

    impl LinkGuard {
        pub fn remove(self) {
            if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
                let _ = doc.remove_event_listener_with_callback_and_bool(
                    "click",
                    self.0.as_ref().unchecked_ref(),
                    true,
                );
            }
        }
    }

    pub fn guard(
        dirty: RwSignal<bool>,
        message: &'static str,
    ) -> send_wrapper::SendWrapper<LinkGuard> {
        let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::MouseEvent)>::new(
            move |ev: web_sys::MouseEvent| {
                if !dirty.get_untracked() {
                    return;
                }
                let link = ev
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .and_then(|e| e.closest("a[href]").ok().flatten());
                let Some(link) = link else { return };
                if link.has_attribute("download") || link.get_attribute("target").is_some() {
                    return;
                }
                if crate::components::confirm::confirm(&tr(message)) {
                    dirty.set(false);
                } else {
                    ev.prevent_default();
                    ev.stop_propagation();
                }
            },
        );
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            let _ = doc.add_event_listener_with_callback_and_bool(
                "click",
                listener.as_ref().unchecked_ref(),
                true,
            );
        }
        send_wrapper::SendWrapper::new(LinkGuard(listener))
    }
}
