//! 404 page.

use crate::i18n::t;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <div class="centered">
            <div class="card">
                <h1>{t("notfound-title")}</h1>
                <p>{t("notfound-body")}</p>
                <A href="/">{t("nav-home")}</A>
            </div>
        </div>
    }
}
