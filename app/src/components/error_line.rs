//! Shows the message of a failed API call (or nothing).

use crate::api::ApiError;
use leptos::prelude::*;

#[component]
pub fn ErrorLine(error: RwSignal<Option<ApiError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="error" role="alert">{e.body.message.clone()}</p> }
        })
    }
}
