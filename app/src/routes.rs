//! The split points of the browser bundle: one lazy route per page, so a page's code
//! (and what only it uses — the BPMN model and bpmn-js bridge of the monitor and the
//! designer, the host and user editors …) is a separate wasm chunk, fetched on the
//! first visit of that page (`cargo leptos build --split`).
//!
//! The main bundle keeps what every page needs: the reactive runtime and router, the
//! layout with its menus, the session, translations, the API client, the landing page
//! (the first page after signing in) and the placeholder of the functions still to come.
//! On the server a lazy route renders like any other; while it renders, the chunk's
//! name is noted so the page preloads it (`__wasm_split_manifest.json`), and the
//! browser hydrates once the chunk has arrived (`hydrate_lazy`).
//!
//! A page is added to the bundle's split points by adding it to `lazy_pages!` and
//! routing to `Lazy::<ItsRoute>::new()`.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// For each `Route => page component`, a route type whose view (the page) is loaded
/// lazily. The pages load their own data after they mount, so `data()` has nothing to
/// start.
macro_rules! lazy_pages {
    ($($(#[$doc:meta])* $route:ident => $page:path;)*) => {
        $(
            $(#[$doc])*
            pub struct $route;

            #[lazy_route]
            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                fn view(_this: Self) -> AnyView {
                    view! { <$page /> }.into_any()
                }
            }
        )*
    };
}

lazy_pages! {
    /// `/login`, reached in the browser only after signing out (a first visit is plain
    /// HTML without wasm).
    LoginRoute => crate::pages::login::LoginPage;
    /// `/account/password`.
    PasswordRoute => crate::pages::password::ChangePasswordPage;
    /// `/flow/editor`: flows and their versions.
    EditorRoute => crate::pages::flow::editor::EditorPage;
    /// `/flow/design`: the designer (bpmn-js modeler, properties panel).
    DesignerRoute => crate::pages::flow::designer::DesignerPage;
    /// `/flow/monitor`: instances and their diagram (bpmn-js viewer).
    MonitorRoute => crate::pages::flow::monitor::MonitorPage;
    /// `/resource/scripts`.
    ScriptsRoute => crate::pages::resource::scripts::ScriptsPage;
    /// `/resource/data-sources`.
    DataSourcesRoute => crate::pages::resource::data_sources::DataSourcesPage;
    /// `/system/company`.
    CompanyRoute => crate::pages::system::company::CompanyPage;
    /// `/system/companies` (platform operators).
    CompaniesRoute => crate::pages::system::companies::CompaniesPage;
    /// `/system/users`: users and groups.
    UsersRoute => crate::pages::system::users::UsersPage;
    /// `/system/hosts`: hosts, terminals and Sub Managers.
    HostsRoute => crate::pages::system::hosts::HostsPage;
}
