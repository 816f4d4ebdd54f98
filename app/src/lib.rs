#![recursion_limit = "512"]
//! The LWAMS browser app: Leptos components rendered on the server (feature `ssr`) and
//! hydrated in the browser (feature `hydrate`). Pages live under `pages/<menu>/`,
//! reusable pieces under `components/`; all API calls go through `api.rs`.

pub mod api;
pub mod components;
pub mod diagram;
pub mod i18n;
pub mod live;
pub mod pages;
pub mod request;
pub mod routes;
pub mod session;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, Lazy};
use shared::Function;

use components::layout::AppLayout;
use pages::coming::Coming;
use routes::*;

/// The HTML document around the app (server side).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The login page is plain HTML (its form posts without JavaScript), so a first
    // visit downloads no wasm; every other page hydrates.
    let hydrate = !request::path().is_some_and(|p| request::is_static_page(&p));
    let lang = request::initial_locale().tag();
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                {hydrate
                    .then(|| {
                        view! {
                            <AutoReload options=options.clone() />
                            <HydrationScripts options=options.clone() />
                        }
                    })}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

macro_rules! coming {
    ($f:expr) => {
        || view! { <Coming function=$f /> }
    };
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let i18n = i18n::provide_i18n(request::initial_locale());
    session::provide_session(i18n);
    view! {
        <Stylesheet id="leptos" href="/pkg/lwams.css" />
        <Title text="LWAMS" />
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} />
                <ParentRoute path=path!("") view=AppLayout>
                    <Route path=path!("") view=pages::home::Home />
                    <Route path=path!("/account/password") view={Lazy::<PasswordRoute>::new()} />
                    <Route path=path!("/flow/editor") view={Lazy::<EditorRoute>::new()} />
                    <Route path=path!("/flow/design") view={Lazy::<DesignerRoute>::new()} />
                    <Route path=path!("/flow/monitor") view={Lazy::<MonitorRoute>::new()} />
                    <Route path=path!("/flow/tasks") view=coming!(Function::FlowTasks) />
                    <Route path=path!("/flow/schedules") view=coming!(Function::FlowSchedules) />
                    <Route path=path!("/report/templates") view=coming!(Function::ReportTemplates) />
                    <Route path=path!("/report/data") view=coming!(Function::ReportData) />
                    <Route path=path!("/resource/scripts") view={Lazy::<ScriptsRoute>::new()} />
                    <Route path=path!("/resource/data-sources") view={Lazy::<DataSourcesRoute>::new()} />
                    <Route path=path!("/resource/forms") view=coming!(Function::ResourceForms) />
                    <Route path=path!("/resource/globals") view=coming!(Function::ResourceGlobals) />
                    <Route path=path!("/system/company") view={Lazy::<CompanyRoute>::new()} />
                    <Route path=path!("/system/companies") view={Lazy::<CompaniesRoute>::new()} />
                    <Route path=path!("/system/users") view={Lazy::<UsersRoute>::new()} />
                    <Route path=path!("/system/hosts") view={Lazy::<HostsRoute>::new()} />
                    <Route path=path!("/system/holidays") view=coming!(Function::SystemHolidays) />
                    <Route path=path!("/system/languages") view=coming!(Function::SystemLanguages) />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The browser entry point: hydrate the server-rendered page. Hydration waits for the
/// wasm chunk of the page's lazy route (`routes`), so it finishes asynchronously.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_from_async` sets up Leptos' executor itself once it runs.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), App)
            .await
            .forget();
        // A marker for tests and scripts: the page is interactive from here on.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
