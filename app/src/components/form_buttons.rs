//! The Save / Cancel row at the foot of every editor form.

use crate::i18n::t;
use leptos::prelude::*;

/// A submit button (`data-testid=testid`) and a Cancel button running `on_cancel`.
#[component]
pub fn FormButtons(testid: &'static str, #[prop(into)] on_cancel: Callback<()>) -> impl IntoView {
    view! {
        <div class="buttons">
            <button type="submit" class="primary" data-testid=testid>{t("common-save")}</button>
            <button type="button" on:click=move |_| on_cancel.run(())>{t("common-cancel")}</button>
        </div>
    }
}
