//! The live feed: a WebSocket to `/ws` that reconnects by itself (1 s, 2 s, … 30 s) and
//! hands every `LiveMessage` to the page. Whenever the socket opens — the first time too
//! — the page is told to fetch again (`Resync`), so nothing is missed that changed
//! before it opened (after the page's first fetch) or while it was down.

use leptos::prelude::*;
use shared::dto::flow::LiveMessage;

/// Connection state, for the page to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Open,
    Down,
}

/// Starts the feed for the current page; `on_message` gets every message. The socket
/// closes when the page's owner is cleaned up.
pub fn connect(
    on_message: impl Fn(LiveMessage) + Clone + Send + Sync + 'static,
) -> ReadSignal<Link> {
    let (link, set_link) = signal(Link::Connecting);
    #[cfg(feature = "hydrate")]
    imp::start(on_message, set_link);
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (on_message, set_link);
    }
    link
}

#[cfg(feature = "hydrate")]
mod imp {
    use super::*;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;

    struct Feed {
        socket: RefCell<Option<web_sys::WebSocket>>,
        closed: Cell<bool>,
        failures: Cell<u32>,
    }

    pub fn start(on_message: impl Fn(LiveMessage) + Clone + 'static, set_link: WriteSignal<Link>) {
        let feed = Rc::new(Feed {
            socket: RefCell::new(None),
            closed: Cell::new(false),
            failures: Cell::new(0),
        });
        open(feed.clone(), Rc::new(on_message), set_link);
        let f = send_wrapper::SendWrapper::new(feed);
        on_cleanup(move || {
            f.closed.set(true);
            if let Some(s) = f.socket.borrow_mut().take() {
                let _ = s.close();
            }
        });
    }

    fn url() -> Option<String> {
        let loc = web_sys::window()?.location();
        let scheme = if loc.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!("{scheme}://{}/ws", loc.host().ok()?))
    }

    fn open(feed: Rc<Feed>, on_message: Rc<dyn Fn(LiveMessage)>, set_link: WriteSignal<Link>) {
        if feed.closed.get() {
            return;
        }
        let Some(Ok(ws)) = url().map(|u| web_sys::WebSocket::new(&u)) else {
            return;
        };
        set_link.set(Link::Connecting);
        {
            let feed = feed.clone();
            let on_message = on_message.clone();
            let onopen = Closure::<dyn Fn()>::new(move || {
                set_link.set(Link::Open);
                on_message(LiveMessage::Resync);
                feed.failures.set(0);
            });
            ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
            onopen.forget();
        }
        {
            let on_message = on_message.clone();
            let onmessage =
                Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                    if let Some(text) = e.data().as_string() {
                        if let Ok(m) = serde_json::from_str::<LiveMessage>(&text) {
                            on_message(m);
                        }
                    }
                });
            ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
            onmessage.forget();
        }
        {
            let feed2 = feed.clone();
            let onclose = Closure::<dyn Fn()>::new(move || {
                if feed2.closed.get() {
                    return;
                }
                set_link.set(Link::Down);
                let n = feed2.failures.get() + 1;
                feed2.failures.set(n);
                let delay = (1000 * 2u32.saturating_pow(n - 1)).min(30_000);
                let feed3 = feed2.clone();
                let on_message = on_message.clone();
                let retry = Closure::once(move || open(feed3, on_message, set_link));
                if let Some(w) = web_sys::window() {
                    let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                        retry.as_ref().unchecked_ref(),
                        delay as i32,
                    );
                }
                retry.forget();
            });
            ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
            onclose.forget();
        }
        *feed.socket.borrow_mut() = Some(ws);
    }
}
