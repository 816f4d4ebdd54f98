//! The REST API under `/api/v1`: one router per domain, composed here, and the
//! OpenAPI document generated from the handlers' annotations.

mod admin_rule;
pub mod auth;
pub mod company;
pub mod data_sources;
mod document;
pub mod extract;
pub mod flows;
pub mod groups;
pub mod hosts;
pub mod platform;
pub mod scripts;
pub mod users;

use crate::error::AppError;
use crate::state::AppState;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "LWAMS API", description = "IT-operations automation: flows, schedules, agents."),
    paths(
        auth::login_options, auth::sign_in, auth::sign_out, auth::me, auth::change_password, auth::set_locale,
        company::get_company, company::update_company,
        users::list_users, users::get_user, users::create_user, users::update_user, users::delete_user,
        groups::list_groups, groups::get_group, groups::create_group, groups::update_group,
        groups::delete_group, groups::add_members, groups::remove_member,
        flows::deploy, flows::import, flows::list_flows, flows::flow_versions, flows::get_draft, flows::save_draft, flows::delete_draft, flows::list_drafts, flows::list_instances, flows::get_instance,
        flows::start_instance, flows::control_instance, flows::instance_diagram, flows::list_artifacts, flows::download_artifact, flows::version_xml, flows::version_diff,
        hosts::list_host_groups, hosts::create_host_group, hosts::update_host_group, hosts::delete_host_group,
        hosts::list_hosts, hosts::create_host, hosts::get_host, hosts::update_host, hosts::delete_host,
        hosts::rotate_credential, hosts::download_package,
        hosts::create_terminal, hosts::update_terminal, hosts::delete_terminal,
        hosts::create_terminal_user, hosts::update_terminal_user, hosts::delete_terminal_user,
        hosts::test_connection, hosts::accept_host_key,
        data_sources::list_data_sources, data_sources::get_data_source, data_sources::create_data_source,
        data_sources::update_data_source, data_sources::delete_data_source, data_sources::test_data_source,
        scripts::list_scripts, scripts::get_script, scripts::create_script, scripts::update_script, scripts::delete_script,
        platform::list_companies, platform::create_company, platform::rename_company,
        platform::disable_company, platform::enable_company, platform::create_first_admin,
    ),
    tags(
        (name = "auth", description = "Sign-in and the current user"),
        (name = "company", description = "System › Company"),
        (name = "users", description = "System › Users"),
        (name = "groups", description = "System › User groups and permissions"),
        (name = "hosts", description = "System › Hosts: host groups, hosts (Sub Manager agents), terminals and their accounts"),
        (name = "data sources", description = "Resource › Data sources: databases SQL steps run against"),
        (name = "scripts", description = "Resource › Scripts: the script library command and SQL steps run by name"),
        (name = "flows", description = "Flow › Editor (deployed versions) and Flow › Monitor (instances)"),
        (name = "platform", description = "System › Companies: the platform operator manages every company (tenant). \
            Only for users of the platform operator's company with System › Company manage; \
            everybody else gets 404 `endpoint not found`, as for an unknown endpoint, so other tenants do not learn it exists"),
    )
)]
pub struct ApiDoc;

/// `/api/v1/...` plus `/api/openapi.json`.
pub fn router() -> Router<AppState> {
    let v1 = Router::new()
        .merge(auth::router())
        .merge(company::router())
        .merge(users::router())
        .merge(groups::router())
        .merge(flows::router())
        .merge(hosts::router())
        .merge(data_sources::router())
        .merge(scripts::router())
        .merge(platform::router())
        .fallback(|| async { AppError::NotFound("endpoint") });
    Router::new().nest("/api/v1", v1).route(
        "/api/openapi.json",
        get(|| async { Json(ApiDoc::openapi()) }),
    )
}
