//! The browser's confirmation dialog, for destructive actions.

/// Asks the user; always "yes" where there is no window (server rendering).
pub fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(message).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        true
    }
}

/// Asks `message`; on "yes" DELETEs `path` (under `/api/v1`), then runs `done`, or puts
/// the refusal into `error`.
pub fn confirm_delete(
    message: &str,
    path: String,
    error: leptos::prelude::RwSignal<Option<crate::api::ApiError>>,
    done: impl FnOnce() + 'static,
) {
    use leptos::prelude::Set;
    if !confirm(message) {
        return;
    }
    leptos::task::spawn_local(async move {
        match crate::api::send_empty::<()>(crate::api::Method::Delete, &path, None).await {
            Ok(()) => done(),
            Err(e) => error.set(Some(e)),
        }
    });
}

/// Asks `message`; on "yes" runs `action` (an API call), then `done`, or puts the
/// refusal into `error`.
pub fn confirm_then<F>(
    message: &str,
    action: F,
    error: leptos::prelude::RwSignal<Option<crate::api::ApiError>>,
    done: impl FnOnce() + 'static,
) where
    F: std::future::Future<Output = crate::api::ApiResult<()>> + 'static,
{
    use leptos::prelude::Set;
    if !confirm(message) {
        return;
    }
    leptos::task::spawn_local(async move {
        match action.await {
            Ok(()) => done(),
            Err(e) => error.set(Some(e)),
        }
    });
}
