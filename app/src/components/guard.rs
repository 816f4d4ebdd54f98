//! Wraps a page: shows it only when the user's groups give at least `view` on the
//! function (the server enforces the same on every request).

use crate::i18n::t;
use crate::session::use_session;
use leptos::prelude::*;
use shared::{Function, Level};

#[component]
pub fn Guarded(function: Function, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    move || {
        if !session.checked.get() {
            view! { <p class="muted">{t("common-loading")}</p> }.into_any()
        } else if session.can(function, Level::View) {
            children().into_any()
        } else {
            view! { <p class="error" data-testid="forbidden">{t("forbidden-body")}</p> }.into_any()
        }
    }
}

/// The page heading with the function's translated name.
#[component]
pub fn PageTitle(function: Function) -> impl IntoView {
    let key = format!("fn-{}", function.key());
    let i18n = crate::i18n::use_i18n();
    view! { <h1 class="page-title">{move || crate::i18n::translate(i18n.locale.get(), &key, &[])}</h1> }
}
