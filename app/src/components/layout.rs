//! The app shell: top bar, the four menus filtered by the user's rights (a drawer on
//! phones), and the page outlet. Loads the session and sends signed-out users to
//! the login page.

use crate::api;
use crate::api::Method;
use crate::components::lang_switch::LangSwitch;
use crate::i18n::{t, translate, use_i18n};
use crate::session::use_session;
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_navigate;
use shared::dto::auth::Me;
use shared::permission::Menu;
use shared::Level;

#[component]
pub fn AppLayout() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let drawer_open = RwSignal::new(false);

    Effect::new(move |_| {
        if session.me.with_untracked(|m| m.is_some()) {
            return;
        }
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::get::<Me>("/auth/me").await {
                Ok(me) => session.set(me),
                Err(e) if e.is_unauthorized() => {
                    session.checked.set(true);
                    navigate("/login", Default::default());
                }
                Err(_) => session.checked.set(true),
            }
        });
    });

    let navigate_out = use_navigate();
    let logout = move |_| {
        let navigate = navigate_out.clone();
        leptos::task::spawn_local(async move {
            let _ = api::send_empty::<()>(Method::Post, "/auth/logout", None).await;
            session.me.set(None);
            navigate("/login", Default::default());
        });
    };

    view! {
        <div class="app" class:drawer-open=move || drawer_open.get()>
            <header class="topbar">
                <button
                    class="icon-button menu-toggle"
                    aria-label=move || t("nav-menu")()
                    data-testid="menu-toggle"
                    on:click=move |_| drawer_open.update(|o| *o = !*o)
                >
                    "☰"
                </button>
                <A href="/" attr:class="brand">
                    <span class="brand-mark">"L"</span>
                    <span class="brand-name">{t("app-name")}</span>
                </A>
                <span class="spacer"></span>
                <LangSwitch />
                {move || {
                    session
                        .me
                        .get()
                        .map(|me| {
                            view! {
                                <span class="user" data-testid="current-user">{me.display_name.clone()}</span>
                            }
                        })
                }}
                <A href="/account/password" attr:class="topbar-link">{t("nav-change-password")}</A>
                <button class="link-button" data-testid="logout" on:click=logout>{t("nav-logout")}</button>
            </header>
            <nav class="sidebar" aria-label="main" data-testid="sidebar" on:click=move |_| drawer_open.set(false)>
                <SideMenu />
                <section class="menu phone-only">
                    <ul>
                        <li>
                            <A href="/account/password">{t("nav-change-password")}</A>
                        </li>
                    </ul>
                </section>
            </nav>
            <div class="scrim" on:click=move |_| drawer_open.set(false)></div>
            <main class="content">
                <Outlet />
            </main>
        </div>
    }
}

#[component]
fn SideMenu() -> impl IntoView {
    let session = use_session();
    let i18n = use_i18n();
    move || {
        let locale = i18n.locale.get();
        Menu::ALL
            .into_iter()
            .filter_map(|menu| {
                let items: Vec<_> = menu.functions().filter(|f| session.can(*f, Level::View)).collect();
                if items.is_empty() {
                    return None;
                }
                Some(view! {
                    <section class="menu" data-menu=menu.as_str()>
                        <h2 class="menu-title">{translate(locale, &format!("menu-{}", menu.as_str()), &[])}</h2>
                        <ul>
                            {items
                                .into_iter()
                                .map(|f| {
                                    view! {
                                        <li>
                                            <A href=f.path() attr:data-function=f.key()>
                                                {translate(locale, &format!("fn-{}", f.key()), &[])}
                                            </A>
                                        </li>
                                    }
                                })
                                .collect_view()}
                            {(menu == Menu::System && session.is_platform_operator())
                                .then(|| {
                                    view! {
                                        <li>
                                            <A href="/system/companies" attr:data-testid="menu-companies">
                                                {translate(locale, "companies-title", &[])}
                                            </A>
                                        </li>
                                    }
                                })}
                        </ul>
                    </section>
                })
            })
            .collect_view()
    }
}
