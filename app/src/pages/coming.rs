//! Placeholder for pages delivered by later issues: says so plainly, does nothing.

use crate::components::guard::{Guarded, PageTitle};
use crate::i18n::t;
use leptos::prelude::*;
use shared::Function;

#[component]
pub fn Coming(function: Function) -> impl IntoView {
    view! {
        <Guarded function>
            <PageTitle function />
            <div class="card coming" data-testid="coming">
                <h2>{t("coming-title")}</h2>
                <p>{t("coming-body")}</p>
            </div>
        </Guarded>
    }
}
