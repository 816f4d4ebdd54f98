//! What the page being rendered knows about its request: the path, the query and the
//! `lwams_lang` cookie on the server; the `<html lang>` the server chose, in the browser.

use shared::Locale;

/// The cookie remembering the UI language between visits (set by the server).
pub const LANG_COOKIE: &str = "lwams_lang";

/// Pages rendered without the wasm bundle: plain HTML forms, fast on a first visit.
pub fn is_static_page(path: &str) -> bool {
    path == "/login"
}

#[cfg(feature = "ssr")]
fn parts() -> Option<http::request::Parts> {
    leptos::prelude::use_context::<http::request::Parts>()
}

/// The path of the request being rendered (server side only).
pub fn path() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        parts().map(|p| p.uri.path().to_string())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// Whether the sign-in page must ask for the company code. On the server the answer
/// comes with the request (the server adds `LoginOptions` to a `/login` request;
/// missing, the field is shown). In the browser it is not known here: the page asks
/// the API (`/auth/login-options`) once mounted.
pub fn company_code_required() -> bool {
    #[cfg(feature = "ssr")]
    {
        parts()
            .and_then(|p| {
                p.extensions
                    .get::<shared::dto::auth::LoginOptions>()
                    .copied()
            })
            .is_none_or(|o| o.company_code_required)
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}

/// The UI language to render in: `?lang=`, else the cookie (server), else what the
/// server wrote into `<html lang>` (browser, so hydration matches), else zh-CN.
pub fn initial_locale() -> Locale {
    #[cfg(feature = "ssr")]
    {
        let Some(p) = parts() else {
            return Locale::default();
        };
        let from_query = p.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("lang="))
                .and_then(Locale::from_tag)
        });
        let from_cookie = || {
            p.headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .find_map(|c| {
                    c.trim()
                        .strip_prefix(LANG_COOKIE)
                        .and_then(|r| r.strip_prefix('='))
                })
                .and_then(Locale::from_tag)
        };
        from_query.or_else(from_cookie).unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|e| e.get_attribute("lang"))
            .and_then(|l| Locale::from_tag(&l))
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Locale::default()
    }
}
