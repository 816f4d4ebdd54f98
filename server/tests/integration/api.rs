//! The REST API end to end through the real router: sign-in, sessions and CSRF, the
//! permission guard on every endpoint, company isolation, and bad input.
//!
//! Invariants pinned here:
//! - a user without the right gets 403 on every endpoint; with it, the call works;
//! - ids of another company answer 404, never data;
//! - a refused change changes nothing; secrets never come back.

use crate::support;

use axum::http::{Method, StatusCode};
use lwams_server::store::companies;
use serde_json::{json, Value};
use shared::dto::auth::Me;
use shared::dto::company::Company;
use shared::dto::group::Group;
use shared::dto::platform::PlatformCompany;
use shared::dto::user::User;
use shared::{Function, Level, PermissionMatrix};
use support::*;

#[tokio::test]
async fn healthz_and_openapi_document_answer() {
    let t = sqlite_app().await;
    let r = t.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t
        .request(Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let paths = r.body["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/login",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/groups/{id}/members",
        "/api/v1/company",
        "/api/v1/auth/login-options",
        "/api/v1/platform/companies",
        "/api/v1/platform/companies/{id}/admins",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn sign_in_sets_an_http_only_strict_cookie_and_me_reports_full_rights() {
    let t = sqlite_app().await;
    let r = t.try_login(None, "admin", ADMIN_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = r.set_cookie.clone().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let me: Me = r.json();
    assert_eq!(me.login, "admin");
    assert_eq!(me.company.code, "default");
    assert_eq!(me.permissions, PermissionMatrix::full());
    let c = t.admin().await;
    let me: Me = t.get("/api/v1/auth/me", &c).await.json();
    assert_eq!(me.login, "admin");
    let r = t
        .request(Method::POST, "/api/v1/auth/logout", Some(&c), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        t.get("/api/v1/auth/me", &c).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unauthenticated_requests_get_401() {
    let t = sqlite_app().await;
    let r = t.request(Method::GET, "/api/v1/users", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "unauthorized");
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_five_lock_the_account() {
    let t = sqlite_app().await;
    let r = t.try_login(None, "nobody", "whatever-123").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"], "bad_credentials");
    for _ in 0..5 {
        let r = t.try_login(None, "admin", "wrong-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = t.try_login(None, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password: {}",
        r.body
    );
    assert_eq!(r.body["error"], "locked");
}

#[tokio::test]
async fn state_changing_requests_need_the_sessions_csrf_token() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let forged = Client {
        cookie: c.cookie.clone(),
        csrf: "forged".into(),
    };
    let r = t
        .post("/api/v1/groups", &forged, &json!({"name": "g"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["error"], "csrf");
    let r = t.get("/api/v1/groups", &forged).await;
    assert_eq!(r.status, StatusCode::OK, "reads need no CSRF token");
    let page = r.body["items"].as_array().unwrap().len();
    assert_eq!(page, 1, "nothing was created");
}

/// A minimal executable flow.
const FLOW: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="hello" name="Hello" isExecutable="true"><startEvent id="s"/><endEvent id="e"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/></process></definitions>"#;

/// A flow that waits at a user task.
const WAITING_FLOW: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="waits" isExecutable="true"><startEvent id="s"/><userTask id="u"/><endEvent id="e"/><sequenceFlow id="f" sourceRef="s" targetRef="u"/><sequenceFlow id="g" sourceRef="u" targetRef="e"/></process></definitions>"#;

/// Every endpoint with the right it needs and a valid body.
/// Objects of System › Hosts the endpoint table names.
struct HostIds {
    group: i64,
    host: i64,
    terminal: i64,
    user: i64,
    data_source: i64,
    script: i64,
    /// A company without users, for the platform operator's rows.
    company: i64,
}

fn endpoints(
    user_id: i64,
    group_id: i64,
    member_id: i64,
    instance_id: i64,
    h: &HostIds,
) -> Vec<(Method, String, Function, Level, Option<Value>)> {
    use Function::*;
    use Level::{Manage, View};
    let group = json!({"name": "renamed", "description": "", "permissions": {}});
    let user_update = json!({"display_name": "X", "enabled": true, "group_ids": []});
    vec![
        (Method::GET, "/api/v1/flows".into(), FlowEditor, View, None),
        (
            Method::POST,
            "/api/v1/flows".into(),
            FlowEditor,
            Manage,
            Some(json!({ "xml": FLOW })),
        ),
        (
            Method::GET,
            "/api/v1/flows/hello/versions".into(),
            FlowEditor,
            View,
            None,
        ),
        (
            Method::GET,
            "/api/v1/flows/hello/versions/1/xml".into(),
            FlowEditor,
            View,
            None,
        ),
        (
            Method::GET,
            "/api/v1/flows/hello/diff?from=1&to=1".into(),
            FlowEditor,
            View,
            None,
        ),
        (
            Method::PUT,
            "/api/v1/flows/hello/draft".into(),
            FlowEditor,
            Manage,
            Some(json!({"xml": "<definitions/>", "base_version": 1})),
        ),
        (
            Method::GET,
            "/api/v1/flows/hello/draft".into(),
            FlowEditor,
            View,
            None,
        ),
        (
            Method::DELETE,
            "/api/v1/flows/hello/draft".into(),
            FlowEditor,
            Manage,
            None,
        ),
        (
            Method::GET,
            "/api/v1/flow-drafts".into(),
            FlowEditor,
            View,
            None,
        ),
        (
            Method::GET,
            "/api/v1/instances".into(),
            FlowMonitor,
            View,
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/instances/{instance_id}"),
            FlowMonitor,
            View,
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/instances/{instance_id}/diagram"),
            FlowMonitor,
            View,
            None,
        ),
        (
            Method::POST,
            "/api/v1/instances".into(),
            FlowMonitor,
            Manage,
            Some(json!({ "key": "hello" })),
        ),
        (
            Method::POST,
            format!("/api/v1/instances/{instance_id}/control"),
            FlowMonitor,
            Manage,
            Some(json!({ "action": "terminate" })),
        ),
        (
            Method::GET,
            "/api/v1/company".into(),
            SystemCompany,
            View,
            None,
        ),
        (
            Method::PUT,
            "/api/v1/company".into(),
            SystemCompany,
            Manage,
            Some(json!({"code": "default", "name": "Ops"})),
        ),
        // The platform operator's endpoints: 404 (not 403) for everybody else.
        (
            Method::GET,
            "/api/v1/platform/companies".into(),
            SystemCompany,
            Manage,
            None,
        ),
        (
            Method::POST,
            "/api/v1/platform/companies".into(),
            SystemCompany,
            Manage,
            Some(json!({"code": "gamma", "name": "Gamma"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/platform/companies/{}", h.company),
            SystemCompany,
            Manage,
            Some(json!({"name": "Tenant renamed"})),
        ),
        (
            Method::POST,
            format!("/api/v1/platform/companies/{}/disable", h.company),
            SystemCompany,
            Manage,
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/platform/companies/{}/enable", h.company),
            SystemCompany,
            Manage,
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/platform/companies/{}/admins", h.company),
            SystemCompany,
            Manage,
            Some(
                json!({"login": "first", "display_name": "First", "password": "first-password-1"}),
            ),
        ),
        (Method::GET, "/api/v1/users".into(), SystemUsers, View, None),
        (
            Method::GET,
            format!("/api/v1/users/{user_id}"),
            SystemUsers,
            View,
            None,
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            SystemUsers,
            Manage,
            Some(json!({"login": "new-one", "display_name": "N", "password": "password-123"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{user_id}"),
            SystemUsers,
            Manage,
            Some(user_update),
        ),
        (
            Method::GET,
            "/api/v1/groups".into(),
            SystemUsers,
            View,
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/groups/{group_id}"),
            SystemUsers,
            View,
            None,
        ),
        (
            Method::POST,
            "/api/v1/groups".into(),
            SystemUsers,
            Manage,
            Some(json!({"name": "another"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/groups/{group_id}"),
            SystemUsers,
            Manage,
            Some(group),
        ),
        (
            Method::POST,
            format!("/api/v1/groups/{group_id}/members"),
            SystemUsers,
            Manage,
            Some(json!({"user_ids": [user_id]})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/groups/{group_id}/members/{member_id}"),
            SystemUsers,
            Manage,
            None,
        ),
        (
            Method::GET,
            "/api/v1/host-groups".into(),
            SystemHosts,
            View,
            None,
        ),
        (
            Method::POST,
            "/api/v1/host-groups".into(),
            SystemHosts,
            Manage,
            Some(json!({"name": "g2"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/host-groups/{}", h.group),
            SystemHosts,
            Manage,
            Some(json!({"name": "g1b"})),
        ),
        (Method::GET, "/api/v1/hosts".into(), SystemHosts, View, None),
        (
            Method::GET,
            format!("/api/v1/hosts/{}", h.host),
            SystemHosts,
            View,
            None,
        ),
        (
            Method::POST,
            "/api/v1/hosts".into(),
            SystemHosts,
            Manage,
            Some(json!({"name": "h2"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/hosts/{}", h.host),
            SystemHosts,
            Manage,
            Some(json!({"name": "h1b"})),
        ),
        (
            Method::GET,
            format!("/api/v1/hosts/{}/package", h.host),
            SystemHosts,
            Manage,
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/hosts/{}/credential", h.host),
            SystemHosts,
            Manage,
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/terminals".into(),
            SystemHosts,
            Manage,
            Some(
                json!({"host_id": h.host, "host_name": "t2", "host_address": "10.0.0.2", "connection_type": "ssh"}),
            ),
        ),
        (
            Method::PUT,
            format!("/api/v1/terminals/{}", h.terminal),
            SystemHosts,
            Manage,
            Some(
                json!({"host_id": h.host, "host_name": "t1b", "host_address": "10.0.0.1", "connection_type": "ssh"}),
            ),
        ),
        (
            Method::POST,
            format!("/api/v1/terminals/{}/users", h.terminal),
            SystemHosts,
            Manage,
            Some(json!({"username": "u2", "auth": "password", "secret": "pw"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/terminals/{}/users/{}", h.terminal, h.user),
            SystemHosts,
            Manage,
            Some(json!({"username": "u1b", "auth": "password"})),
        ),
        (
            Method::POST,
            format!("/api/v1/terminals/{}/users/{}/test", h.terminal, h.user),
            SystemHosts,
            Manage,
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/terminals/{}/host-key", h.terminal),
            SystemHosts,
            Manage,
            Some(json!({"fingerprint": "SHA256:pending-key"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/terminals/{}/users/{}", h.terminal, h.user),
            SystemHosts,
            Manage,
            None,
        ),
        (
            Method::GET,
            "/api/v1/data-sources".into(),
            ResourceDataSources,
            View,
            None,
        ),
        (
            Method::POST,
            "/api/v1/data-sources".into(),
            ResourceDataSources,
            Manage,
            Some(json!({"name": "ds2", "kind": "sqlite", "url": "sqlite:///nonexistent/ds2.db"})),
        ),
        (
            Method::GET,
            format!("/api/v1/data-sources/{}", h.data_source),
            ResourceDataSources,
            View,
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/data-sources/{}", h.data_source),
            ResourceDataSources,
            Manage,
            Some(json!({"name": "ds1", "kind": "sqlite", "url": "sqlite:///nonexistent/ds1.db"})),
        ),
        (
            Method::POST,
            format!("/api/v1/data-sources/{}/test", h.data_source),
            ResourceDataSources,
            Manage,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/data-sources/{}", h.data_source),
            ResourceDataSources,
            Manage,
            None,
        ),
        (
            Method::GET,
            "/api/v1/scripts".into(),
            ResourceScripts,
            View,
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/instances/{instance_id}/artifacts"),
            FlowMonitor,
            View,
            None,
        ),
        (
            Method::POST,
            "/api/v1/scripts".into(),
            ResourceScripts,
            Manage,
            Some(json!({"name": "s2", "kind": "sh", "body": "uname -a"})),
        ),
        (
            Method::GET,
            format!("/api/v1/scripts/{}", h.script),
            ResourceScripts,
            View,
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/scripts/{}", h.script),
            ResourceScripts,
            Manage,
            Some(json!({"name": "s1", "kind": "python", "body": "print(${x})"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/scripts/{}", h.script),
            ResourceScripts,
            Manage,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/terminals/{}", h.terminal),
            SystemHosts,
            Manage,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/hosts/{}", h.host),
            SystemHosts,
            Manage,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/host-groups/{}", h.group),
            SystemHosts,
            Manage,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{user_id}"),
            SystemUsers,
            Manage,
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/groups/{group_id}"),
            SystemUsers,
            Manage,
            None,
        ),
    ]
}

/// The path names an object of a company (an id, a flow key) or is the platform
/// operator's: another company gets 404 for it.
fn names_an_object(path: &str) -> bool {
    [
        "/users/",
        "/groups/",
        "/instances/",
        "/versions",
        "/diff",
        "/hosts/",
        "/host-groups/",
        "/terminals/",
        "/data-sources/",
        "/scripts/",
        "/platform/",
    ]
    .iter()
    .any(|p| path.contains(p))
}

#[tokio::test]
async fn every_endpoint_is_403_without_the_right_404_across_companies_and_works_with_it() {
    let t = sqlite_app().await;
    let admin = t.admin().await;
    // A user whose group only views the monitor.
    let weak_group = t
        .group(&admin, "weak", &[(Function::ReportData, Level::View)])
        .await;
    t.user(&admin, "weak", &[weak_group.id]).await;
    let weak = t.login(None, "weak", USER_PASSWORD).await;
    // A viewer of users and company: view passes, manage is 403.
    let viewer_group = t
        .group(
            &admin,
            "viewers",
            &[
                (Function::SystemUsers, Level::View),
                (Function::SystemCompany, Level::View),
            ],
        )
        .await;
    t.user(&admin, "viewer", &[viewer_group.id]).await;
    let viewer = t.login(None, "viewer", USER_PASSWORD).await;
    // Targets in company 1.
    let target_group = t.group(&admin, "target", &[]).await;
    let member = t.user(&admin, "member", &[target_group.id]).await;
    let target_user = t.user(&admin, "target", &[]).await;

    // A second company with its own administrator.
    let other_admin = other_company_admin(&t).await;

    // An instance of company 1 waiting at a user task (run headless).
    let run = lwams_server::engine::runner::run_file(
        &t.state.store,
        1,
        WAITING_FLOW,
        serde_json::Map::new(),
        &lwams_server::engine::builtins::Initiator::default(),
        &mut |_| {},
    )
    .await
    .unwrap();

    // System › Hosts objects of company 1.
    let hg = t
        .post("/api/v1/host-groups", &admin, &json!({"name": "g1"}))
        .await;
    let host = t
        .post("/api/v1/hosts", &admin, &json!({"name": "h1"}))
        .await;
    let host_id = host.body["id"].as_i64().unwrap();
    let term = t
        .post(
            "/api/v1/terminals",
            &admin,
            &json!({"host_id": host_id, "host_name": "t1", "host_address": "10.0.0.1", "connection_type": "ssh"}),
        )
        .await;
    let terminal = term.body["id"].as_i64().unwrap();
    // A changed host key waiting to be accepted (what an agent reports).
    {
        let mut c = t.state.store.conn().await.unwrap();
        assert!(lwams_server::store::terminals::record_host_key(
            &mut c,
            1,
            terminal,
            "10.0.0.1",
            22,
            "SHA256:pending-key",
            true
        )
        .await
        .unwrap());
    }
    let tu = t
        .post(
            &format!("/api/v1/terminals/{terminal}/users"),
            &admin,
            &json!({"username": "u1", "auth": "password", "secret": "pw"}),
        )
        .await;
    let ds = t
        .post(
            "/api/v1/data-sources",
            &admin,
            &json!({"name": "ds1", "kind": "sqlite", "url": "sqlite:///nonexistent/ds1.db"}),
        )
        .await;
    let script = t
        .post(
            "/api/v1/scripts",
            &admin,
            &json!({"name": "s1", "kind": "sh", "body": "ls ${dir}"}),
        )
        .await;
    // A company without users, for the platform operator's rows.
    let tenant = {
        let mut tx = t.state.store.begin().await.unwrap();
        let co = lwams_server::bootstrap::create_company(&mut tx, "tenant", "Tenant")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        co.id
    };
    let host_ids = HostIds {
        data_source: ds.body["id"].as_i64().unwrap(),
        script: script.body["id"].as_i64().unwrap(),
        group: hg.body["id"].as_i64().unwrap(),
        host: host_id,
        terminal,
        user: tu.body["users"][0]["id"].as_i64().unwrap(),
        company: tenant,
    };

    for (method, path, f, level, body) in endpoints(
        target_user.id,
        target_group.id,
        member.id,
        run.instance_id,
        &host_ids,
    ) {
        // The platform operator's endpoints do not exist for anybody else.
        let (denied, error) = if path.starts_with("/api/v1/platform/") {
            (StatusCode::NOT_FOUND, "not_found")
        } else {
            (StatusCode::FORBIDDEN, "forbidden")
        };
        let r = t
            .request(method.clone(), &path, Some(&weak), body.clone())
            .await;
        assert_eq!(
            r.status, denied,
            "{method} {path} without {f:?}: {}",
            r.body
        );
        assert_eq!(r.body["error"], error);
        if level == Level::Manage {
            let r = t
                .request(method.clone(), &path, Some(&viewer), body.clone())
                .await;
            assert_eq!(
                r.status, denied,
                "{method} {path} with view only: {}",
                r.body
            );
        }
        if names_an_object(&path) {
            let r = t
                .request(method.clone(), &path, Some(&other_admin), body.clone())
                .await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{method} {path} from another company: {}",
                r.body
            );
        }
        let r = t
            .request(method.clone(), &path, Some(&admin), body.clone())
            .await;
        assert!(
            r.status.is_success(),
            "{method} {path} as admin: {} {}",
            r.status,
            r.body
        );
    }
    // The other company's admin sees only its own users.
    let page: Value = t.get("/api/v1/users", &other_admin).await.body;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["login"], "admin");
    let company: Company = t.get("/api/v1/company", &other_admin).await.json();
    assert_eq!(company.code, "other");
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_naming_the_field_and_changes_nothing() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let cases = [
        (
            json!({"login": "", "display_name": "x", "password": "password-1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "login",
        ),
        (
            json!({"login": "bad login", "display_name": "x", "password": "password-1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "login",
        ),
        (
            json!({"login": "ok", "display_name": "x".repeat(101), "password": "password-1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "display_name",
        ),
        (
            json!({"login": "ok", "display_name": "x", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
        ),
        (
            json!({"login": "ok", "display_name": "x", "password": "password-1", "email": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (
            json!({"login": "ok", "display_name": "x", "password": "password-1", "group_ids": [999]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "group_ids",
        ),
        (
            json!({"login": "admin", "display_name": "x", "password": "password-1"}),
            StatusCode::CONFLICT,
            "login",
        ),
    ];
    for (body, status, field) in cases {
        let r = t.post("/api/v1/users", &c, &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.body["field"], field, "{body}: {}", r.body);
        assert!(
            r.body["message"].as_str().unwrap().starts_with(field),
            "{}",
            r.body
        );
    }
    // Ill-typed body: 400 naming the field.
    let r = t
        .post(
            "/api/v1/users",
            &c,
            &json!({"login": 5, "display_name": "x", "password": "password-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["message"].as_str().unwrap().contains("login"),
        "{}",
        r.body
    );
    // Unknown and non-numeric ids.
    assert_eq!(
        t.get("/api/v1/users/999999", &c).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get("/api/v1/users/abc", &c).await.status,
        StatusCode::BAD_REQUEST
    );
    // Duplicate group name.
    t.group(&c, "ops", &[]).await;
    let r = t.post("/api/v1/groups", &c, &json!({"name": "ops"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["field"], "name");
    // Nothing was created.
    let users: Value = t.get("/api/v1/users", &c).await.body;
    assert_eq!(users["total"], 1);
}

#[tokio::test]
async fn the_last_admin_and_ones_own_manage_right_cannot_be_removed() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let me: Me = t.get("/api/v1/auth/me", &c).await.json();
    let admins: Value = t.get("/api/v1/groups", &c).await.body;
    let admin_group = admins["items"][0]["id"].as_i64().unwrap();
    // Deleting oneself.
    let r = t.delete(&format!("/api/v1/users/{}", me.user_id), &c).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // Leaving the only managing group.
    let r = t
        .put(
            &format!("/api/v1/users/{}", me.user_id),
            &c,
            &json!({"display_name": "A", "enabled": true, "group_ids": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("your own manage right"));
    // Downgrading the group's user right.
    let r = t
        .put(
            &format!("/api/v1/groups/{admin_group}"),
            &c,
            &json!({"name": "Administrators", "permissions": {"system_users": "view"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Deleting the group.
    assert_eq!(
        t.delete(&format!("/api/v1/groups/{admin_group}"), &c)
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Disabling oneself.
    let r = t
        .put(
            &format!("/api/v1/users/{}", me.user_id),
            &c,
            &json!({"display_name": "A", "enabled": false, "group_ids": [admin_group]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // Nothing changed.
    let me2: Me = t.get("/api/v1/auth/me", &c).await.json();
    assert_eq!(me2.permissions, PermissionMatrix::full());
    let g: Group = t
        .get(&format!("/api/v1/groups/{admin_group}"), &c)
        .await
        .json();
    assert_eq!(g.permissions, PermissionMatrix::full());
    assert_eq!(g.user_ids, vec![me.user_id]);
}

#[tokio::test]
async fn rights_are_the_union_of_the_users_groups() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let a = t
        .group(
            &c,
            "a",
            &[
                (Function::FlowEditor, Level::View),
                (Function::ReportData, Level::Manage),
            ],
        )
        .await;
    let b = t
        .group(&c, "b", &[(Function::FlowEditor, Level::Manage)])
        .await;
    t.user(&c, "both", &[a.id, b.id]).await;
    let u = t.login(None, "both", USER_PASSWORD).await;
    let me: Me = t.get("/api/v1/auth/me", &u).await.json();
    assert_eq!(me.permissions.get(Function::FlowEditor), Level::Manage);
    assert_eq!(me.permissions.get(Function::ReportData), Level::Manage);
    assert_eq!(me.permissions.get(Function::SystemUsers), Level::None);
}

#[tokio::test]
async fn associate_users_adds_members_in_one_step() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let g = t.group(&c, "example group", &[]).await;
    let u1 = t.user(&c, "User1", &[]).await;
    let u2 = t.user(&c, "User2", &[]).await;
    let r = t
        .post(
            &format!("/api/v1/groups/{}/members", g.id),
            &c,
            &json!({"user_ids": [u1.id, u2.id]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let g: Group = r.json();
    assert_eq!(g.user_ids, vec![u1.id, u2.id]);
    let r = t
        .post(
            &format!("/api/v1/groups/{}/members", g.id),
            &c,
            &json!({"user_ids": [424242]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "user_ids");
}

#[tokio::test]
async fn the_wechat_secret_is_write_only_and_encrypted_at_rest() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let r = t.put("/api/v1/company", &c, &json!({"code": "acme", "name": "ACME", "wechat_app_id": "wx1", "wechat_app_secret": "s3cr3t-value"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.to_string().contains("s3cr3t-value"));
    let co: Company = r.json();
    assert!(co.wechat_app_secret_set);
    let mut conn = t.state.store.conn().await.unwrap();
    let row = companies::get(&mut conn, co.id).await.unwrap().unwrap();
    let stored = row.wechat_app_secret_enc.unwrap();
    assert!(!stored.contains("s3cr3t-value"));
    let at = lwams_server::store::sealed::COMPANY_WECHAT_SECRET.at(co.id, co.id);
    assert_eq!(t.state.secrets.open(&at, &stored).unwrap(), "s3cr3t-value");
    // Omitted keeps it, empty clears it.
    let co: Company = t
        .put(
            "/api/v1/company",
            &c,
            &json!({"code": "acme", "name": "ACME"}),
        )
        .await
        .json();
    assert!(co.wechat_app_secret_set);
    let co: Company = t
        .put(
            "/api/v1/company",
            &c,
            &json!({"code": "acme", "name": "ACME", "wechat_app_secret": ""}),
        )
        .await
        .json();
    assert!(!co.wechat_app_secret_set);
    // Bad code.
    let r = t
        .put(
            "/api/v1/company",
            &c,
            &json!({"code": "a b", "name": "ACME"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "code");
}

#[tokio::test]
async fn a_company_code_changes_only_to_one_sign_in_and_sub_managers_accept() {
    // The same rule as creating a company (letters, digits, - and _, at most 32): a
    // code with `.` or `@` could be stored before, and then no one could type it.
    let t = sqlite_app().await;
    let c = t.admin().await;
    for code in ["a.b", "ops@acme", "x y", &"x".repeat(33)] {
        let r = t
            .put(
                "/api/v1/company",
                &c,
                &json!({"code": code, "name": "ACME"}),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{code}: {}",
            r.body
        );
        assert_eq!(r.body["field"], "code", "{}", r.body);
    }
    let r = t
        .put(
            "/api/v1/company",
            &c,
            &json!({"code": "acme-2_b", "name": "ACME"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn changing_ones_password_ends_other_sessions() {
    let t = sqlite_app().await;
    let a = t.admin().await;
    let b = t.admin().await;
    let r = t
        .post(
            "/api/v1/auth/password",
            &a,
            &json!({"current_password": "wrong", "new_password": "new-password-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "current_password");
    let r = t
        .post(
            "/api/v1/auth/password",
            &a,
            &json!({"current_password": ADMIN_PASSWORD, "new_password": "new-password-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(t.get("/api/v1/auth/me", &a).await.status, StatusCode::OK);
    assert_eq!(
        t.get("/api/v1/auth/me", &b).await.status,
        StatusCode::UNAUTHORIZED
    );
    t.login(None, "admin", "new-password-1").await;
}

#[tokio::test]
async fn disabled_users_cannot_sign_in_and_lose_their_sessions() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let u = t.user(&c, "ops", &[]).await;
    let s = t.login(None, "ops", USER_PASSWORD).await;
    let r = t
        .put(
            &format!("/api/v1/users/{}", u.id),
            &c,
            &json!({"display_name": "ops", "enabled": false, "group_ids": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        t.get("/api/v1/auth/me", &s).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.try_login(None, "ops", USER_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_locale_is_saved_per_user() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let r = t
        .put("/api/v1/auth/locale", &c, &json!({"locale": "en"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let me: Me = t.get("/api/v1/auth/me", &c).await.json();
    assert_eq!(me.locale, shared::Locale::En);
    let r = t
        .put("/api/v1/auth/locale", &c, &json!({"locale": "fr"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn raw(
    t: &TestApp,
    req: axum::http::Request<axum::body::Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = t.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn form_post(body: &str, origin: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post("/auth/login")
        .header("host", "lwams.test")
        .header("origin", origin)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn the_login_form_works_without_javascript_and_refuses_cross_site_posts() {
    let t = sqlite_app().await;
    let ok = format!("login=admin&password={ADMIN_PASSWORD}&lang=en&next=%2Fsystem%2Fusers");
    let (status, headers, _) = raw(&t, form_post(&ok, "http://lwams.test")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/system/users");
    let cookies: Vec<_> = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("lwams_session=") && c.contains("HttpOnly")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("lwams_lang=zh-CN")),
        "the user's own language: {cookies:?}"
    );

    let (status, headers, _) = raw(
        &t,
        form_post("login=admin&password=wrong&lang=en", "http://lwams.test"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers["location"],
        "/login?error=bad_credentials&lang=en&login=admin"
    );
    assert!(headers.get("set-cookie").is_none());

    let (status, _, _) = raw(&t, form_post(&ok, "https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, headers, _) = raw(
        &t,
        form_post(
            "login=admin&password=x&next=https://evil.example",
            "http://lwams.test",
        ),
    )
    .await;
    assert!(headers["location"].to_str().unwrap().starts_with("/login?"));
}

#[tokio::test]
async fn the_login_page_ships_no_wasm_and_app_pages_do() {
    let t = sqlite_app().await;
    let get = |path: &str| {
        axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let (status, _, login) = raw(&t, get("/login?lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(login.contains("<html lang=\"en\""), "{login}");
    assert!(login.contains("action=\"/auth/login\""));
    assert!(login.contains("Sign in"));
    assert!(
        !login.contains("/pkg/lwams.js"),
        "no hydration script on the login page"
    );
    let (_, _, home) = raw(&t, get("/")).await;
    assert!(home.contains("/pkg/lwams.js"));
    let (_, _, zh) = raw(
        &t,
        axum::http::Request::get("/login")
            .header("cookie", "lwams_lang=zh-CN")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert!(zh.contains("登录"));
}

#[tokio::test]
async fn deploying_makes_immutable_versions_and_refuses_broken_files_with_element_and_line() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let r = t.post("/api/v1/flows", &c, &json!({ "xml": FLOW })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body[0]["key"], "hello");
    assert_eq!(r.body[0]["version"], 1);
    let r = t
        .post(
            "/api/v1/flows",
            &c,
            &json!({ "xml": FLOW.replace("Hello", "Hello 2") }),
        )
        .await;
    assert_eq!(r.body[0]["version"], 2);
    let versions: Value = t.get("/api/v1/flows/hello/versions", &c).await.body;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let list: Value = t.get("/api/v1/flows", &c).await.body;
    assert_eq!(list["total"], 1, "one flow, latest version");
    assert_eq!(list["items"][0]["name"], "Hello 2");

    // A flow whose gateway flow has no condition: refused, element and line named.
    let broken = FLOW.replace(
        r#"<endEvent id="e"/>"#,
        r#"<exclusiveGateway id="g"/><endEvent id="e"/><endEvent id="e2"/><sequenceFlow id="x1" sourceRef="g" targetRef="e"/><sequenceFlow id="x2" sourceRef="g" targetRef="e2"/>"#,
    ).replace(r#"targetRef="e"/></process>"#, r#"targetRef="g"/></process>"#);
    let r = t.post("/api/v1/flows", &c, &json!({ "xml": broken })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"], "invalid_flow");
    let problems = r.body["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["element_id"] == "x1" && p["line"] == 1),
        "{problems:?}"
    );
    let r = t
        .post("/api/v1/flows", &c, &json!({ "xml": "<html/>" }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["message"].as_str().unwrap().contains("not BPMN"));
    let r = t
        .post(
            "/api/v1/flows",
            &c,
            &json!({ "xml": FLOW.replace("isExecutable=\"true\"", "") }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing was added by the refused deploys.
    let versions: Value = t.get("/api/v1/flows/hello/versions", &c).await.body;
    assert_eq!(versions.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn instances_are_listed_newest_first_with_filters_and_shown_with_their_runs() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let flow = include_str!("../../../docs/examples/system-info.bpmn");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut v = serde_json::Map::new();
        v.insert("greeting".into(), json!("hi"));
        let out = lwams_server::engine::runner::run_file(
            &t.state.store,
            1,
            flow,
            v,
            &lwams_server::engine::builtins::Initiator::default(),
            &mut |_| {},
        )
        .await
        .unwrap();
        ids.push(out.instance_id);
    }
    let page: Value = t
        .get("/api/v1/instances?status=completed&q=system", &c)
        .await
        .body;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["id"], ids[1], "newest first");
    assert_eq!(page["items"][0]["flow_key"], "system-info");
    let none: Value = t.get("/api/v1/instances?status=failed", &c).await.body;
    assert_eq!(none["total"], 0);
    let r = t.get("/api/v1/instances?status=weird", &c).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "status");
    let detail: Value = t
        .get(&format!("/api/v1/instances/{}", ids[0]), &c)
        .await
        .body;
    let runs = detail["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["node_id"], "collect");
    assert!(runs[0]["output"].as_str().unwrap().contains("exitCode"));
    assert_eq!(
        t.get("/api/v1/instances/99999", &c).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_deploy_based_on_an_outdated_version_is_refused_naming_who_changed_it() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let base = |v: i64| json!({ "xml": FLOW, "base": { "key": "hello", "version": v } });
    // A new flow: base version 0.
    assert_eq!(
        t.post("/api/v1/flows", &c, &base(0)).await.status,
        StatusCode::CREATED
    );
    // Two designers opened v1; the first deploys v2, the second is refused.
    assert_eq!(
        t.post("/api/v1/flows", &c, &base(1)).await.status,
        StatusCode::CREATED
    );
    let r = t.post("/api/v1/flows", &c, &base(1)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["field"], "base");
    let m = r.body["message"].as_str().unwrap();
    assert!(
        m.contains("changed by Administrator at") && m.contains("version 2"),
        "{m}"
    );
    // Creating a flow that exists is refused the same way.
    assert_eq!(
        t.post("/api/v1/flows", &c, &base(0)).await.status,
        StatusCode::CONFLICT
    );
    let versions: Value = t.get("/api/v1/flows/hello/versions", &c).await.body;
    assert_eq!(
        versions.as_array().unwrap().len(),
        2,
        "nothing deployed by the refused calls"
    );
    // Any version's XML opens; a missing one is 404.
    let r = t.get("/api/v1/flows/hello/versions/1/xml", &c).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.as_str().unwrap().contains("<process id=\"hello\""));
    assert_eq!(
        t.get("/api/v1/flows/hello/versions/9/xml", &c).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_draft_is_saved_with_who_and_when_refused_when_not_xml_and_gone_once_deployed() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    assert_eq!(
        t.get("/api/v1/flows/hello/draft", &c).await.status,
        StatusCode::NOT_FOUND
    );
    // Unfinished diagrams are fine as drafts; text that is not XML is refused by line.
    let unfinished = FLOW.replace(r#"<endEvent id="e"/>"#, "");
    let r = t
        .put(
            "/api/v1/flows/hello/draft",
            &c,
            &json!({ "xml": unfinished, "base_version": 0 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let draft: shared::dto::flow::FlowDraft = r.json();
    assert_eq!(draft.updated_by, "Administrator");
    assert_eq!(draft.xml, unfinished);
    let r = t
        .put(
            "/api/v1/flows/hello/draft",
            &c,
            &json!({ "xml": "<a>\n<b></a>", "base_version": 0 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body["message"].as_str().unwrap().contains("line 2"),
        "{}",
        r.body
    );
    let kept: shared::dto::flow::FlowDraft = t.get("/api/v1/flows/hello/draft", &c).await.json();
    assert_eq!(kept.xml, unfinished, "a refused save changes nothing");
    // The list of drafts names the never-deployed flow by its process name.
    let listed: Vec<shared::dto::flow::DraftSummary> =
        t.get("/api/v1/flow-drafts", &c).await.json();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].key.as_str(), listed[0].name.as_str()),
        ("hello", "Hello")
    );
    assert_eq!(listed[0].base_version, 0);
    assert_eq!(listed[0].updated_by, "Administrator");
    // Another company has no such draft.
    let other = other_company_admin(&t).await;
    assert_eq!(
        t.get("/api/v1/flows/hello/draft", &other).await.status,
        StatusCode::NOT_FOUND
    );
    let theirs: Vec<Value> = t.get("/api/v1/flow-drafts", &other).await.json();
    assert!(theirs.is_empty(), "drafts stay in their company");
    // Deploying the flow removes its draft.
    assert_eq!(
        t.post("/api/v1/flows", &c, &json!({ "xml": FLOW }))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        t.get("/api/v1/flows/hello/draft", &c).await.status,
        StatusCode::NOT_FOUND
    );
    let listed: Vec<Value> = t.get("/api/v1/flow-drafts", &c).await.json();
    assert!(listed.is_empty(), "{listed:?}");
}

#[tokio::test]
async fn a_deploy_carries_the_basic_data_group_and_comments_and_an_import_keeps_the_group() {
    let t = sqlite_app().await;
    let c = t.admin().await;
    let about = json!({ "group": "Nightly", "comments": "first cut" });
    let r = t
        .post("/api/v1/flows", &c, &json!({ "xml": FLOW, "about": about }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body[0]["about"]["group"], "Nightly");
    assert_eq!(r.body[0]["about"]["comments"], "first cut");
    // A file imported without basic data stays in the flow's group; its comment is its own.
    let r = t.post("/api/v1/flows", &c, &json!({ "xml": FLOW })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let versions: Vec<shared::dto::flow::FlowVersion> =
        t.get("/api/v1/flows/hello/versions", &c).await.json();
    assert_eq!(versions[0].version, 2);
    assert_eq!(versions[0].about.group, "Nightly");
    assert_eq!(versions[0].about.comments, "");
    assert_eq!(versions[1].about.comments, "first cut");
    // The list searches groups too.
    let page: Value = t.get("/api/v1/flows?q=nightly", &c).await.body;
    assert_eq!(page["total"], 1, "{page}");
    // A group longer than 100 characters is refused, naming the field; nothing deployed.
    let long = json!({ "group": "g".repeat(101) });
    let r = t
        .post("/api/v1/flows", &c, &json!({ "xml": FLOW, "about": long }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["field"], "group", "{}", r.body);
    let versions: Vec<Value> = t.get("/api/v1/flows/hello/versions", &c).await.json();
    assert_eq!(versions.len(), 2);
}

/// A company created through the platform operator's API, with its first
/// administrator (`admin`, password `<code>-password-1`), signed in.
async fn tenant(
    t: &TestApp,
    operator: &Client,
    code: &str,
    name: &str,
) -> (PlatformCompany, Client) {
    let r = t
        .post(
            "/api/v1/platform/companies",
            operator,
            &json!({"code": code, "name": name}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let co: PlatformCompany = r.json();
    let password = format!("{code}-password-1");
    let r = t
        .post(
            &format!("/api/v1/platform/companies/{}/admins", co.id),
            operator,
            &json!({"login": "admin", "display_name": format!("{name} admin"), "password": password}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let co: PlatformCompany = r.json();
    assert_eq!(co.users, 1);
    let client = t.login(Some(code), "admin", &password).await;
    (co, client)
}

#[tokio::test]
async fn the_platform_operator_creates_renames_disables_and_enables_companies() {
    let t = sqlite_app().await;
    let op = t.admin().await;
    let me: Me = t.get("/api/v1/auth/me", &op).await.json();
    assert!(
        me.platform_operator,
        "the first company's admin operates the platform"
    );
    let options = t
        .request(Method::GET, "/api/v1/auth/login-options", None, None)
        .await;
    assert_eq!(options.status, StatusCode::OK);
    assert_eq!(options.body["company_code_required"], false);

    let list: shared::dto::Page<PlatformCompany> =
        t.get("/api/v1/platform/companies", &op).await.json();
    assert_eq!(list.total, 1);
    assert_eq!(list.items[0].code, "default");
    assert!(list.items[0].platform_operator && !list.items[0].disabled);
    assert_eq!(list.items[0].users, 1);

    // Create: the code is checked, a taken code is named.
    for (body, field) in [
        (json!({"code": "a b", "name": "X"}), "code"),
        (json!({"code": "a.b", "name": "X"}), "code"),
        (json!({"code": "x".repeat(33), "name": "X"}), "code"),
        (json!({"code": "ok", "name": " "}), "name"),
    ] {
        let r = t.post("/api/v1/platform/companies", &op, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["field"], field, "{}", r.body);
    }
    let r = t
        .post(
            "/api/v1/platform/companies",
            &op,
            &json!({"code": "acme", "name": "ACME Ltd"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let acme: PlatformCompany = r.json();
    assert_eq!(
        (
            acme.code.as_str(),
            acme.name.as_str(),
            acme.users,
            acme.disabled,
            acme.platform_operator
        ),
        ("acme", "ACME Ltd", 0, false, false)
    );
    let r = t
        .post(
            "/api/v1/platform/companies",
            &op,
            &json!({"code": "acme", "name": "Other"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["field"], "code");
    assert!(
        r.body["message"].as_str().unwrap().contains("acme"),
        "{}",
        r.body
    );
    // Its Administrators group holds every right.
    {
        let mut c = t.state.store.conn().await.unwrap();
        let (groups, _) = lwams_server::store::groups::list(&mut c, acme.id, &Default::default())
            .await
            .unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].name, "Administrators");
        let perms = lwams_server::store::groups::permissions(&mut c, acme.id)
            .await
            .unwrap();
        assert_eq!(perms.get(&groups[0].id), Some(&PermissionMatrix::full()));
    }
    // Sign-in now asks for the company code.
    let options = t
        .request(Method::GET, "/api/v1/auth/login-options", None, None)
        .await;
    assert_eq!(options.body["company_code_required"], true);
    let r = t.try_login(None, "admin", ADMIN_PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["field"], "company_code");
    t.login(Some("default"), "admin", ADMIN_PASSWORD).await;

    // The first administrator: validated as any new user, and only once.
    let first =
        |login: &str, pw: &str| json!({"login": login, "display_name": "Boss", "password": pw});
    let admins = format!("/api/v1/platform/companies/{}/admins", acme.id);
    for (body, field) in [
        (first("bad login", "boss-password-1"), "login"),
        (first("boss", "short"), "password"),
        (
            json!({"login": "boss", "display_name": "", "password": "boss-password-1"}),
            "display_name",
        ),
    ] {
        let r = t.post(&admins, &op, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["field"], field, "{}", r.body);
    }
    let r = t
        .post(&admins, &op, &first("boss", "boss-password-1"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json::<PlatformCompany>().users, 1);
    let r = t
        .post(&admins, &op, &first("boss2", "boss-password-1"))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body["message"]
        .as_str()
        .unwrap()
        .contains("already has users"));
    assert_eq!(
        t.post(
            "/api/v1/platform/companies/99999/admins",
            &op,
            &first("x", "boss-password-1")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let boss = t.login(Some("acme"), "boss", "boss-password-1").await;
    let me: Me = t.get("/api/v1/auth/me", &boss).await.json();
    assert_eq!(me.company.code, "acme");
    assert_eq!(me.permissions, PermissionMatrix::full());
    assert!(
        !me.platform_operator,
        "a tenant's administrator is no operator"
    );

    // Rename.
    let r = t
        .put(
            &format!("/api/v1/platform/companies/{}", acme.id),
            &op,
            &json!({"name": "ACME Group"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json::<PlatformCompany>().name, "ACME Group");
    let r = t
        .put(
            "/api/v1/platform/companies/99999",
            &op,
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The operator's own company cannot be disabled.
    let r = t
        .post(
            &format!(
                "/api/v1/platform/companies/{}/disable",
                me_company(&t, &op).await
            ),
            &op,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(t.get("/api/v1/auth/me", &op).await.status.is_success());

    // Disabled: sessions end, sign-in is refused by name, nothing else changes.
    let r = t
        .post(
            &format!("/api/v1/platform/companies/{}/disable", acme.id),
            &op,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json::<PlatformCompany>().disabled);
    assert_eq!(
        t.get("/api/v1/auth/me", &boss).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.get("/api/v1/users", &boss).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = t.try_login(Some("acme"), "boss", "boss-password-1").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["error"], "company_disabled");
    assert_eq!(r.body["message"], "company acme is disabled");
    assert!(
        t.get("/api/v1/auth/me", &op).await.status.is_success(),
        "other companies carry on"
    );
    let list: shared::dto::Page<PlatformCompany> =
        t.get("/api/v1/platform/companies?q=acme", &op).await.json();
    assert_eq!(list.total, 1);
    assert!(list.items[0].disabled);
    assert_eq!(list.items[0].name, "ACME Group");

    // Enabled again: its users sign in anew (the old session stays ended).
    let r = t
        .post(
            &format!("/api/v1/platform/companies/{}/enable", acme.id),
            &op,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.json::<PlatformCompany>().disabled);
    assert_eq!(
        t.get("/api/v1/auth/me", &boss).await.status,
        StatusCode::UNAUTHORIZED
    );
    let boss = t.login(Some("acme"), "boss", "boss-password-1").await;
    assert!(t.get("/api/v1/auth/me", &boss).await.status.is_success());
}

async fn me_company(t: &TestApp, c: &Client) -> i64 {
    t.get("/api/v1/auth/me", c).await.json::<Me>().company.id
}

#[tokio::test]
async fn the_platform_endpoints_answer_everybody_else_like_an_unknown_endpoint() {
    let t = sqlite_app().await;
    let op = t.admin().await;
    // Operator company users without System › Company manage.
    let viewers = t
        .group(&op, "viewers", &[(Function::SystemCompany, Level::View)])
        .await;
    t.user(&op, "viewer", &[viewers.id]).await;
    let viewer = t.login(None, "viewer", USER_PASSWORD).await;
    let (acme, boss) = tenant(&t, &op, "acme", "ACME").await;
    let unknown = t.get("/api/v1/no-such-endpoint", &op).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let anonymous = Client {
        cookie: "lwams_session=made-up".into(),
        csrf: "x".into(),
    };
    let no_csrf = Client {
        cookie: boss.cookie.clone(),
        csrf: "forged".into(),
    };
    let calls = [
        (Method::GET, "/api/v1/platform/companies".to_string(), None),
        (
            Method::GET,
            "/api/v1/platform/companies?limit=abc".to_string(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/platform/companies".to_string(),
            Some(json!({"code": "evil", "name": "Evil"})),
        ),
        (
            Method::POST,
            "/api/v1/platform/companies".to_string(),
            Some(json!({"bad": 1})),
        ),
        (
            Method::PUT,
            format!("/api/v1/platform/companies/{}", acme.id),
            Some(json!({"name": "Taken over"})),
        ),
        (
            Method::PUT,
            "/api/v1/platform/companies/abc".to_string(),
            Some(json!({"name": "x"})),
        ),
        (
            Method::POST,
            "/api/v1/platform/companies/1/disable".to_string(),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/platform/companies/{}/enable", acme.id),
            None,
        ),
        (
            Method::POST,
            "/api/v1/platform/companies/1/admins".to_string(),
            Some(json!({"login": "evil", "display_name": "E", "password": "evil-password-1"})),
        ),
        (
            Method::DELETE,
            "/api/v1/platform/companies".to_string(),
            None,
        ),
    ];
    for (who, c) in [
        ("a tenant's administrator", Some(&boss)),
        (
            "a tenant's administrator without CSRF token",
            Some(&no_csrf),
        ),
        (
            "a user of the operator's company without manage",
            Some(&viewer),
        ),
        ("a made-up session", Some(&anonymous)),
        ("nobody signed in", None),
    ] {
        for (method, path, body) in &calls {
            let r = t.request(method.clone(), path, c, body.clone()).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{who}: {method} {path}: {}",
                r.body
            );
            assert_eq!(
                r.body, unknown.body,
                "{who}: {method} {path}: the unknown-endpoint answer"
            );
        }
    }
    // A method the endpoint does not serve is 404 for the operator too (not 405).
    let r = t.delete("/api/v1/platform/companies", &op).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Nothing changed.
    let list: shared::dto::Page<PlatformCompany> =
        t.get("/api/v1/platform/companies", &op).await.json();
    assert_eq!(list.total, 2);
    assert!(list.items.iter().all(|c| !c.disabled && c.code != "evil"));
    assert_eq!(list.items[1].name, "ACME");
    assert_eq!(
        list.items[0].users, 2,
        "no user was added to the operator's company"
    );
}

#[tokio::test]
async fn the_login_page_asks_for_the_company_code_once_several_companies_exist() {
    let t = sqlite_app().await;
    let get = |path: &str| {
        axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let (_, _, one) = raw(&t, get("/login?lang=en")).await;
    assert!(one.contains("name=\"login\""), "{one}");
    assert!(
        !one.contains("name=\"company_code\""),
        "one company: no code asked: {one}"
    );
    let (_, _, given) = raw(&t, get("/login?lang=en&company=acme")).await;
    assert!(given.contains("name=\"company_code\""), "{given}");
    assert!(
        given.contains("value=\"acme\""),
        "taken from ?company=: {given}"
    );

    let op = t.admin().await;
    let (acme, _) = tenant(&t, &op, "acme", "ACME").await;
    let (_, _, two) = raw(&t, get("/login?lang=en")).await;
    assert!(two.contains("name=\"company_code\""), "{two}");
    assert!(two.contains("Company code"), "{two}");
    let (_, _, zh) = raw(&t, get("/login?lang=zh-CN")).await;
    assert!(zh.contains("公司代码"), "{zh}");

    // The form: no code → asked for it; a disabled company → named, the code kept.
    let (status, headers, _) = raw(
        &t,
        form_post(
            &format!("login=admin&password={ADMIN_PASSWORD}&lang=en"),
            "http://lwams.test",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers["location"],
        "/login?error=company_required&lang=en&login=admin"
    );
    let (_, headers, _) = raw(
        &t,
        form_post(
            &format!("company_code=default&login=admin&password={ADMIN_PASSWORD}&lang=en"),
            "http://lwams.test",
        ),
    )
    .await;
    assert_eq!(headers["location"], "/");
    let r = t
        .post(
            &format!("/api/v1/platform/companies/{}/disable", acme.id),
            &op,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let (_, headers, _) = raw(
        &t,
        form_post(
            "company_code=acme&login=admin&password=acme-password-1&lang=en",
            "http://lwams.test",
        ),
    )
    .await;
    assert_eq!(
        headers["location"],
        "/login?error=company_disabled&lang=en&login=admin&company=acme"
    );
    assert!(headers.get("set-cookie").is_none());
    let (_, _, page) = raw(
        &t,
        get("/login?error=company_disabled&lang=en&login=admin&company=acme"),
    )
    .await;
    assert!(
        page.contains("acme") && page.contains("is disabled"),
        "{page}"
    );
    let (_, _, page) = raw(&t, get("/login?error=company_required&lang=en")).await;
    assert!(page.contains("Enter your company code"), "{page}");
}

/// Company A's names, which nothing company B sees may contain.
const A_MARKERS: [&str; 4] = ["alpha-", "Alpha ", "10.77.77.77", "Default company"];

fn assert_no_a_names(what: &str, body: &str) {
    for m in A_MARKERS {
        assert!(!body.contains(m), "{what} shows company A's {m:?}: {body}");
    }
}

#[tokio::test]
async fn another_companys_administrator_reaches_nothing_of_company_a_through_any_endpoint_or_the_live_feed(
) {
    let t = sqlite_app().await;
    let a = t.admin().await;
    // Company A's objects, every name marked.
    let a_group = t.group(&a, "alpha-group", &[]).await;
    let a_member = t.user(&a, "alpha-member", &[a_group.id]).await;
    let a_user = t.user(&a, "alpha-user", &[]).await;
    let hg = t
        .post("/api/v1/host-groups", &a, &json!({"name": "alpha-hosts"}))
        .await;
    let host = t
        .post("/api/v1/hosts", &a, &json!({"name": "alpha-host"}))
        .await;
    let host_id = host.body["id"].as_i64().unwrap();
    let term = t
        .post(
            "/api/v1/terminals",
            &a,
            &json!({"host_id": host_id, "host_name": "alpha-term", "host_address": "10.77.77.77", "connection_type": "ssh"}),
        )
        .await;
    let terminal = term.body["id"].as_i64().unwrap();
    let tu = t
        .post(
            &format!("/api/v1/terminals/{terminal}/users"),
            &a,
            &json!({"username": "alpha-account", "auth": "password", "secret": "alpha-secret"}),
        )
        .await;
    let ds = t
        .post(
            "/api/v1/data-sources",
            &a,
            &json!({"name": "alpha-db", "kind": "sqlite", "url": "sqlite:///nonexistent/alpha-db.db"}),
        )
        .await;
    let script = t
        .post(
            "/api/v1/scripts",
            &a,
            &json!({"name": "alpha-script", "kind": "sh", "body": "echo alpha-body"}),
        )
        .await;
    let r = t
        .post(
            "/api/v1/flows",
            &a,
            &json!({ "xml": FLOW.replace("name=\"Hello\"", "name=\"Alpha Hello\"") }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let waiting = WAITING_FLOW.replace("id=\"waits\"", "id=\"alpha-waits\" name=\"Alpha Waits\"");
    let r = t
        .post("/api/v1/flows", &a, &json!({ "xml": waiting }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = t
        .post("/api/v1/instances", &a, &json!({"key": "alpha-waits"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a_instance = r.body["id"].as_i64().unwrap();
    let r = t
        .put(
            "/api/v1/flows/hello/draft",
            &a,
            &json!({"xml": "<definitions id=\"alpha-draft\"/>", "base_version": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A company without users, for the platform rows.
    let spare = t
        .post(
            "/api/v1/platform/companies",
            &a,
            &json!({"code": "spare", "name": "Spare"}),
        )
        .await;
    let ids = HostIds {
        group: hg.body["id"].as_i64().unwrap(),
        host: host_id,
        terminal,
        user: tu.body["users"][0]["id"].as_i64().unwrap(),
        data_source: ds.body["id"].as_i64().unwrap(),
        script: script.body["id"].as_i64().unwrap(),
        company: spare.body["id"].as_i64().unwrap(),
    };
    // What A sees of itself carries the markers (so the check below can fail).
    let own = t.get(&format!("/api/v1/instances/{a_instance}"), &a).await;
    assert!(own.body.to_string().contains("alpha-waits"), "{}", own.body);

    // Company B, created through the platform API, with its own administrator.
    let (_, b) = tenant(&t, &a, "beta", "Beta Co").await;

    // The live feed, as A and as B, on a real listener with the engine working.
    let s = served::serve(t).await;
    let t = &s.t;
    let mut a_ws = ws::feed(s.port, &a).await;
    let mut b_ws = ws::feed(s.port, &b).await;

    let table = endpoints(a_user.id, a_group.id, a_member.id, a_instance, &ids);
    // Every endpoint naming one of A's objects (or the platform's): 404, nothing of A.
    for (method, path, _, _, body) in table.iter().filter(|row| names_an_object(&row.1)) {
        let r = t
            .request(method.clone(), path, Some(&b), body.clone())
            .await;
        assert!(
            matches!(r.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{method} {path} as B with A's ids: {} {}",
            r.status,
            r.body
        );
        assert_no_a_names(&format!("{method} {path}"), &r.body.to_string());
    }
    // Every other endpoint works on B's own data only (B deploys its own `hello`).
    for (method, path, _, _, body) in table.iter().filter(|row| !names_an_object(&row.1)) {
        let r = t
            .request(method.clone(), path, Some(&b), body.clone())
            .await;
        assert!(
            !r.status.is_server_error(),
            "{method} {path} as B: {} {}",
            r.status,
            r.body
        );
        assert_no_a_names(&format!("{method} {path}"), &r.body.to_string());
    }
    for list in [
        "/api/v1/users",
        "/api/v1/groups",
        "/api/v1/hosts",
        "/api/v1/host-groups",
        "/api/v1/data-sources",
        "/api/v1/scripts",
        "/api/v1/flows",
        "/api/v1/flow-drafts",
        "/api/v1/instances",
        "/api/v1/company",
        "/api/v1/auth/me",
    ] {
        let r = t.get(list, &b).await;
        assert_eq!(r.status, StatusCode::OK, "{list}: {}", r.body);
        assert_no_a_names(list, &r.body.to_string());
    }
    // A's objects are as they were.
    let u: User = t
        .get(&format!("/api/v1/users/{}", a_user.id), &a)
        .await
        .json();
    assert_eq!(u.display_name, "alpha-user");
    let h = t.get(&format!("/api/v1/hosts/{host_id}"), &a).await;
    assert_eq!(h.body["host"]["name"], "alpha-host", "{}", h.body);
    let i = t.get(&format!("/api/v1/instances/{a_instance}"), &a).await;
    assert_eq!(i.body["instance"]["status"], "running", "{}", i.body);

    // The live feed: A's new instance reaches A, never B; B's own reaches B.
    let r = t
        .post("/api/v1/instances", &a, &json!({"key": "alpha-waits"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a_new = r.body["id"].as_i64().unwrap();
    let r = t
        .post("/api/v1/instances", &b, &json!({"key": "hello"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let b_new = r.body["id"].as_i64().unwrap();
    loop {
        let text = ws::next_text(&mut a_ws, "A's update")
            .await
            .expect("A's feed is open");
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["instance_id"] == a_new {
            break;
        }
    }
    loop {
        let text = ws::next_text(&mut b_ws, "B's update")
            .await
            .expect("B's feed is open");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_ne!(
            v["instance_id"], a_new,
            "B's feed shows A's instance: {text}"
        );
        assert_ne!(
            v["instance_id"], a_instance,
            "B's feed shows A's instance: {text}"
        );
        assert_no_a_names("B's live feed", &text);
        if v["instance_id"] == b_new && v["status"] == "completed" {
            break;
        }
    }
}
