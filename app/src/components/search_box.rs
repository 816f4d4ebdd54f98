//! The search field and "N in all" at the head of every list.

use crate::i18n::{t, t_args};
use leptos::prelude::*;

/// A search field that sets `query` on Enter, and the list's `total`.
#[component]
pub fn SearchBox(
    testid: &'static str,
    query: RwSignal<String>,
    #[prop(into)] total: Signal<i64>,
) -> impl IntoView {
    let search = RwSignal::new(query.get_untracked());
    view! {
        <form class="search" on:submit=move |ev| {
            ev.prevent_default();
            query.set(search.get_untracked());
        }>
            <input type="search" data-testid=testid placeholder=move || t("common-search")() bind:value=search />
        </form>
        <span class="muted">{move || t_args("common-total", vec![("count", total.get().to_string())])()}</span>
    }
}
