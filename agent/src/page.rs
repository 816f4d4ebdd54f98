//! The Sub Manager's local web page on `http.host:http.port` (SPEC §2.3): people with
//! an LWAMS account of this host's company that may log in to Sub Manager sign in
//! (checked by the server over the agent's line) and see the connection, the tasks
//! it ran and its log. Sessions live in memory for 8 hours; English or Chinese by the
//! browser's language.

use crate::journal::{Entry, TaskEntry};
use crate::link::{Agent, VERSION};
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use shared::agent::LoginOutcome;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

const COOKIE: &str = "lwams_sub_manager";
const SESSION_HOURS: u64 = 8;

#[derive(Clone)]
struct Page {
    agent: Arc<Agent>,
    /// Session token → (display name, expiry).
    sessions: Arc<Mutex<HashMap<String, (String, Instant)>>>,
}

impl Page {
    fn user(&self, headers: &HeaderMap) -> Option<String> {
        let token = session_token(headers)?;
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, (_, until)| *until > Instant::now());
        sessions.get(&token).map(|(name, _)| name.clone())
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The page's routes over `agent`.
pub fn router(agent: Arc<Agent>) -> Router {
    let page = Page {
        agent,
        sessions: Arc::default(),
    };
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .with_state(page)
}

/// Serves the page until the process ends; a port that cannot be bound is logged
/// and the agent carries on without its page.
pub async fn serve(agent: Arc<Agent>) {
    let addr = format!("{}:{}", agent.config.http_host, agent.config.http_port);
    match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => {
            agent.journal.info(&format!("local page on http://{addr}/"));
            if agent.config.page_is_plaintext_off_machine() {
                agent.journal.warn(&format!(
                    "the local page on http://{addr}/ is NOT encrypted and listens beyond this \
                     machine: LWAMS passwords typed there cross the network readable — set \
                     \"http.host\": \"127.0.0.1\" or put it behind a TLS proxy"
                ));
            }
            if let Err(e) = axum::serve(listener, router(agent.clone())).await {
                agent.journal.error(&format!("local page stopped: {e}"));
            }
        }
        Err(e) => agent
            .journal
            .warn(&format!("cannot open the local page on {addr}: {e}")),
    }
}

/// The page's words in the browser's language.
struct Words {
    zh: bool,
}

impl Words {
    fn of(headers: &HeaderMap) -> Words {
        let zh = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|l| l.trim_start().to_ascii_lowercase().starts_with("zh"));
        Words { zh }
    }

    fn w(&self, en: &'static str, zh: &'static str) -> &'static str {
        if self.zh {
            zh
        } else {
            en
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn when(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    format!("{} UTC", shared::datetime::datetime(ms))
}

fn document(w: &Words, title: &str, body: &str, refresh: bool) -> String {
    let lang = if w.zh { "zh-CN" } else { "en" };
    let refresh = if refresh {
        r#"<meta http-equiv="refresh" content="10">"#
    } else {
        ""
    };
    format!(
        r#"<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">{refresh}
<title>{title}</title><style>
body{{font:14px system-ui,sans-serif;margin:0;color:#1d2939;background:#f5f6f8}}
header{{background:#1d2939;color:#fff;padding:10px 16px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}}
header form{{margin-left:auto}}main{{padding:16px;max-width:1100px;margin:auto}}
section{{background:#fff;border:1px solid #e4e7ec;border-radius:6px;padding:12px 16px;margin-bottom:16px;overflow-x:auto}}
h1{{font-size:16px;margin:0}}h2{{font-size:15px;margin:0 0 8px}}table{{border-collapse:collapse;width:100%}}
td,th{{text-align:left;padding:4px 8px;border-bottom:1px solid #f0f1f3;vertical-align:top}}
.ok{{color:#067647}}.bad{{color:#b42318}}.muted{{color:#667085}}
input{{display:block;width:100%;box-sizing:border-box;padding:8px;margin:4px 0 12px;border:1px solid #d0d5dd;border-radius:4px}}
button{{padding:8px 14px;border:0;border-radius:4px;background:#1570ef;color:#fff;cursor:pointer}}
.login{{max-width:340px;margin:10vh auto}}</style></head><body>{body}</body></html>"#
    )
}

/// Said on the page itself when it is served without TLS beyond this machine.
fn plaintext_warning(w: &Words, agent: &Agent) -> String {
    if !agent.config.page_is_plaintext_off_machine() {
        return String::new();
    }
    format!(
        r#"<p class="bad" role="alert" id="plaintext">{}</p>"#,
        w.w(
            "This page is not encrypted: the password you type crosses the network readable. Open it on the agent's machine (127.0.0.1) or through a TLS proxy.",
            "本页面未加密：输入的密码会以明文经过网络。请在本机（127.0.0.1）或通过 TLS 代理打开。"
        )
    )
}

fn login_page(w: &Words, agent: &Agent, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"<p class="bad" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    let host = agent.status().host_name.unwrap_or_default();
    let body = format!(
        r#"<main><section class="login"><h1>LWAMS Sub Manager {host}</h1>
{plaintext}<p class="muted">{hint}</p>{error}
<form method="post" action="/login">
<label>{login}<input name="login" autocomplete="username" required autofocus></label>
<label>{password}<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">{sign_in}</button></form></section></main>"#,
        host = esc(&host),
        plaintext = plaintext_warning(w, agent),
        hint = w.w(
            "Sign in with your LWAMS account (it must be allowed to log in to Sub Manager).",
            "使用 LWAMS 账号登录（账号需允许登录 Sub Manager）。"
        ),
        login = w.w("Login name", "登录名"),
        password = w.w("Password", "密码"),
        sign_in = w.w("Sign in", "登录"),
    );
    document(w, "LWAMS Sub Manager", &body, false)
}

fn status_page(w: &Words, agent: &Agent, user: &str) -> String {
    let s = agent.status();
    let line = if s.connected {
        format!(
            r#"<span class="ok" data-state="connected">{}</span> {} {}"#,
            w.w("Connected to", "已连接到"),
            esc(&s.server),
            s.since
                .map(|t| format!("({} {})", w.w("since", "自"), when(t)))
                .unwrap_or_default()
        )
    } else {
        format!(
            r#"<span class="bad" data-state="disconnected">{}</span> {}"#,
            w.w("Not connected to", "未连接到"),
            esc(&s.server)
        )
    };
    let tasks: String = agent
        .journal
        .tasks()
        .iter()
        .rev()
        .map(|t: &TaskEntry| {
            format!(
                r#"<tr><td>{}</td><td>#{}</td><td>{}</td><td class="{}">{}</td></tr>"#,
                when(t.at),
                t.task,
                esc(&t.what),
                if t.ok { "ok" } else { "bad" },
                esc(&t.how)
            )
        })
        .collect();
    let log: String = agent
        .journal
        .lines()
        .iter()
        .rev()
        .map(|e: &Entry| {
            format!(
                r#"<tr><td>{}</td><td class="{}">{}</td><td>{}</td></tr>"#,
                when(e.at),
                if e.level == "info" { "muted" } else { "bad" },
                e.level,
                esc(&e.message)
            )
        })
        .collect();
    let none = |rows: &str| {
        if rows.is_empty() {
            format!(r#"<p class="muted">{}</p>"#, w.w("None yet.", "暂无。"))
        } else {
            String::new()
        }
    };
    let c = &agent.config;
    let body = format!(
        r#"<header><h1>LWAMS Sub Manager {host}</h1><span class="muted">{version}</span>
<span>{user}</span><form method="post" action="/logout"><button type="submit">{sign_out}</button></form></header>
<main>{plaintext}<section id="connection"><h2>{connection}</h2><p>{line}</p>
<p class="muted">{company}: {code} · {page}: {http_host}:{http_port} · {running}: <span id="running">{n}</span></p></section>
<section id="tasks"><h2>{recent}</h2>{tasks_none}<table>{tasks}</table></section>
<section id="log"><h2>{log_title}</h2>{log_none}<table>{log}</table></section></main>"#,
        host = esc(&s.host_name.clone().unwrap_or_default()),
        version = VERSION,
        user = esc(user),
        plaintext = plaintext_warning(w, agent),
        sign_out = w.w("Sign out", "退出"),
        connection = w.w("Connection", "连接"),
        company = w.w("Company code", "公司代码"),
        code = esc(&c.company_code),
        page = w.w("This page", "本页面"),
        http_host = esc(&c.http_host),
        http_port = c.http_port,
        running = w.w("Running tasks", "运行中的任务"),
        n = s.running_tasks,
        recent = w.w("Recent tasks", "最近的任务"),
        tasks_none = none(&tasks),
        log_title = w.w("Log", "日志"),
        log_none = none(&log),
    );
    document(w, "LWAMS Sub Manager", &body, true)
}

async fn home(State(page): State<Page>, headers: HeaderMap) -> Html<String> {
    let w = Words::of(&headers);
    Html(match page.user(&headers) {
        Some(user) => status_page(&w, &page.agent, &user),
        None => login_page(&w, &page.agent, None),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
}

async fn login(State(page): State<Page>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let w = Words::of(&headers);
    match page.agent.check_login(f.login.trim(), &f.password).await {
        LoginOutcome::Allowed { display_name } => {
            let token = {
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut bytes);
                bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
            };
            let until = Instant::now() + Duration::from_secs(SESSION_HOURS * 3600);
            page.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(token.clone(), (display_name, until));
            page.agent
                .journal
                .info(&format!("{} signed in to this page", f.login.trim()));
            let cookie = format!(
                "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                SESSION_HOURS * 3600
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        LoginOutcome::Refused { reason } => (
            StatusCode::UNAUTHORIZED,
            Html(login_page(&w, &page.agent, Some(&reason))),
        )
            .into_response(),
    }
}

async fn logout(State(page): State<Page>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        page.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&token);
    }
    let gone = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    ([(header::SET_COOKIE, gone)], Redirect::to("/")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others_and_text_is_escaped() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("a=1; {COOKIE}=tok; b=2").parse().unwrap(),
        );
        assert_eq!(session_token(&h).as_deref(), Some("tok"));
        assert_eq!(esc(r#"<b a="x">&"#), "&lt;b a=&quot;x&quot;&gt;&amp;");
        let mut zh = HeaderMap::new();
        zh.insert(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9".parse().unwrap());
        assert_eq!(Words::of(&zh).w("Log", "日志"), "日志");
        assert_eq!(Words::of(&HeaderMap::new()).w("Log", "日志"), "Log");
    }
}
