//! The landing page after sign-in.

use crate::i18n::{t, translate, use_i18n};
use crate::session::use_session;
use leptos::prelude::*;

#[component]
pub fn Home() -> impl IntoView {
    let session = use_session();
    let i18n = use_i18n();
    view! {
        <div class="card">
            <h1 data-testid="welcome">
                {move || {
                    let name = session.me.with(|m| m.as_ref().map(|m| m.display_name.clone()).unwrap_or_default());
                    translate(i18n.locale.get(), "home-welcome", &[("name", name)])
                }}
            </h1>
            <p>{t("home-intro")}</p>
        </div>
    }
}
