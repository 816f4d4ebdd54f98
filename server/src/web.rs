//! Composes the HTTP application: health check, API, and the Leptos app (SSR pages,
//! the wasm bundle and static assets).

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;

/// `GET /healthz`: 200 when the database answers.
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// The login page shows the company-code field only when several companies use the
/// server: for `GET /login` that is looked up here and handed to the page as a request
/// extension (`LoginOptions`), which the page reads while it renders. A failed look-up
/// leaves it out, and the page then shows the field.
async fn login_options(
    State(state): State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.method() == axum::http::Method::GET && req.uri().path() == "/login" {
        match crate::auth::login::options(&state.store).await {
            Ok(options) => {
                req.extensions_mut().insert(options);
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not count the companies for the login page")
            }
        }
    }
    next.run(req).await
}

/// `/pkg`: the wasm bundle, its chunks, JavaScript and CSS. The build writes each file
/// also compressed at brotli's and gzip's best (`tools/precompress.mjs`); those are sent
/// to browsers that accept them — the first page's bundle is a fifth smaller than with
/// the quick compression `CompressionLayer` applies to everything else
/// (docs/benchmarks.md, issue 17). Without them the file goes through that layer.
fn pkg_files(options: &leptos::config::LeptosOptions) -> tower_http::services::ServeDir {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    tower_http::services::ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(app::App);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ws", get(crate::live::ws))
        .route("/agent", get(crate::agents::gateway::agent))
        .route(
            "/auth/login",
            axum::routing::post(crate::login_form::form_login),
        )
        .merge(crate::api::router())
        .nest_service("/pkg", pkg_files(&leptos_options))
        .leptos_routes(&state, routes, {
            let options = leptos_options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            login_options,
        ))
        .layer(axum::middleware::from_fn(crate::auth::throttle::sign_ins))
        .layer(axum::middleware::from_fn(crate::security::headers::add))
        .layer(CompressionLayer::new())
        .with_state(state)
}
