//! System › Hosts: host groups (a tree), hosts with their agent's state (pink: never
//! connected, green: connected, grey: offline), the facts the agent reports, its log,
//! the "Download Sub Manager" package and credential rotation; terminals under a host
//! with their accounts (secrets write-only) and "Test connection" through the agent.
//! The list refreshes every 5 s so a starting agent turns green without a reload.

use crate::api::{self, encode, ApiError, Method};
use crate::components::confirm::{confirm, confirm_delete};
use crate::components::error_line::ErrorLine;
use crate::components::form_buttons::FormButtons;
use crate::components::guard::{Guarded, PageTitle};
use crate::components::search_box::SearchBox;
use crate::i18n::{t, t_args, tr};
use crate::session::use_session;
use leptos::prelude::*;
use shared::datetime::datetime;
use shared::dto::host::{
    AcceptHostKey, AccountSecret, ConnectionTest, ConnectionType, Host, HostDetail, HostGroup,
    HostGroupInput, HostInput, HostState, IssuedCredential, Terminal, TerminalAuth, TerminalInput,
    TerminalUser, TerminalUserInput,
};
use shared::dto::{Id, Page};
use shared::{Function, Level};

#[derive(Clone, Copy)]
struct Data {
    groups: RwSignal<Vec<HostGroup>>,
    hosts: RwSignal<Vec<Host>>,
    total: RwSignal<i64>,
    /// `None`: every host.
    group: RwSignal<Option<Id>>,
    query: RwSignal<String>,
    selected: RwSignal<Option<Id>>,
    version: RwSignal<u32>,
    error: RwSignal<Option<ApiError>>,
}

impl Data {
    fn reload(&self) {
        self.version.update(|v| *v += 1);
    }
}

fn state_class(s: HostState) -> &'static str {
    match s {
        HostState::Uninitialised => "badge host-uninitialised",
        HostState::Connected => "badge host-connected",
        HostState::Offline => "badge host-offline",
    }
}

fn state_label(s: HostState) -> String {
    match s {
        HostState::Uninitialised => tr("hosts-state-uninitialised"),
        HostState::Connected => tr("hosts-state-connected"),
        HostState::Offline => tr("hosts-state-offline"),
    }
}

/// A fact as shown: memory sizes (bytes) in GiB, the rest as reported.
/// A fact's label in the UI language (`fact-<key>` in the catalogues); the key itself
/// for a fact this version does not know (a newer agent's).
fn fact_label(key: &str) -> impl Fn() -> String + Send + Sync + 'static {
    let i18n = crate::i18n::use_i18n();
    let id = format!("fact-{key}");
    let key = key.to_string();
    move || {
        let label = crate::i18n::translate(i18n.locale.get(), &id, &[]);
        if label == id {
            key.clone()
        } else {
            label
        }
    }
}

fn fact_value(key: &str, value: &str) -> String {
    match value.parse::<u64>() {
        Ok(bytes) if key.starts_with("memory") => {
            format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
        }
        _ => value.to_string(),
    }
}

#[component]
pub fn HostsPage() -> impl IntoView {
    view! {
        <Guarded function=Function::SystemHosts>
            <PageTitle function=Function::SystemHosts />
            <Hosts />
        </Guarded>
    }
}

/// Repeats `f` every `ms` milliseconds while the page is open (browser only).
fn every(ms: u32, f: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(f, std::time::Duration::from_millis(u64::from(ms)))
    {
        on_cleanup(move || handle.clear());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ms, f);
}

#[component]
fn Hosts() -> impl IntoView {
    let data = Data {
        groups: RwSignal::new(vec![]),
        hosts: RwSignal::new(vec![]),
        total: RwSignal::new(0),
        group: RwSignal::new(None),
        query: RwSignal::new(String::new()),
        selected: RwSignal::new(None),
        version: RwSignal::new(0),
        error: RwSignal::new(None),
    };
    Effect::new(move |_| {
        data.version.track();
        let q = data.query.get();
        let group = data.group.get();
        leptos::task::spawn_local(async move {
            let group = group.map(|g| format!("&group_id={g}")).unwrap_or_default();
            let hosts =
                api::get::<Page<Host>>(&format!("/hosts?limit=500&q={}{group}", encode(&q))).await;
            let groups = api::get::<Vec<HostGroup>>("/host-groups").await;
            match (hosts, groups) {
                (Ok(h), Ok(g)) => {
                    data.total.set(h.total);
                    data.hosts.set(h.items);
                    data.groups.set(g);
                    data.error.set(None);
                }
                (Err(e), _) | (_, Err(e)) => data.error.set(Some(e)),
            }
        });
    });
    every(5000, move || data.reload());
    view! {
        <ErrorLine error=data.error />
        <div class="hosts-layout">
            {view! { <GroupTree data /> }.into_any()}
            <div class="hosts-main">
                {view! { <HostList data /> }.into_any()}
                {move || data.selected.get().map(|id| view! { <HostPanel id data /> }.into_any())}
            </div>
        </div>
    }
}

// ---------------------------------------------------------------- groups

/// Groups in tree order with their depth.
fn tree(groups: &[HostGroup]) -> Vec<(HostGroup, usize)> {
    fn walk(
        all: &[HostGroup],
        parent: Option<Id>,
        depth: usize,
        out: &mut Vec<(HostGroup, usize)>,
    ) {
        for g in all.iter().filter(|g| g.parent_id == parent) {
            out.push((g.clone(), depth));
            if depth < 16 {
                walk(all, Some(g.id), depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(groups, None, 0, &mut out);
    out
}

#[component]
fn GroupTree(data: Data) -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemHosts, Level::Manage);
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = HostGroupInput {
            name: name.get_untracked(),
            parent_id: data.group.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::send_json::<_, HostGroup>(Method::Post, "/host-groups", &body).await {
                Ok(_) => {
                    name.set(String::new());
                    error.set(None);
                    data.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete = move |id: Id| {
        confirm_delete(
            &tr("common-confirm-delete"),
            format!("/host-groups/{id}"),
            error,
            move || {
                data.group.set(None);
                data.reload();
            },
        )
    };
    view! {
        <nav class="card group-tree" data-testid="host-groups" aria-label=move || t("hosts-groups")()>
            <h2>{t("hosts-groups")}</h2>
            <ul>
                <li>
                    <button class="link-button" class:current=move || data.group.get().is_none() on:click=move |_| data.group.set(None)>
                        {t("hosts-all")}
                    </button>
                </li>
                <For each=move || tree(&data.groups.get()) key=|(g, d)| (g.id, g.name.clone(), *d) let:item>
                    {
                        let (g, depth) = item;
                        let id = g.id;
                        view! {
                            <li style=format!("padding-left: {}px", depth * 14)>
                                <button class="link-button" data-group=g.name.clone() class:current=move || data.group.get() == Some(id) on:click=move |_| data.group.set(Some(id))>
                                    {g.name.clone()}
                                </button>
                                <Show when=can_manage>
                                    <button class="icon-button" title=move || t("common-delete")() aria-label=move || t("common-delete")() on:click=move |_| delete(id)>"×"</button>
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=can_manage>
                <form class="inline-form" on:submit=add>
                    <input required maxlength="100" data-testid="new-group-name" placeholder=move || t("hosts-new-group")() bind:value=name />
                    <button type="submit">{t("common-new")}</button>
                </form>
            </Show>
            <ErrorLine error />
        </nav>
    }
}

// ---------------------------------------------------------------- hosts

#[component]
fn HostList(data: Data) -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemHosts, Level::Manage);
    let adding = RwSignal::new(false);
    let group_name = move |id: Option<Id>| {
        id.and_then(|id| {
            data.groups
                .with(|gs| gs.iter().find(|g| g.id == id).map(|g| g.name.clone()))
        })
        .unwrap_or_default()
    };
    view! {
        <div class="toolbar">
            <SearchBox testid="host-search" query=data.query total=data.total />
            <span class="spacer"></span>
            <Show when=can_manage>
                <button class="primary" data-testid="new-host" on:click=move |_| adding.set(true)>{t("hosts-new")}</button>
            </Show>
        </div>
        {move || adding.get().then(|| view! { <HostEditor data adding /> })}
        <div class="table-wrap">
            <table class="grid" data-testid="hosts-table">
                <thead>
                    <tr>
                        <th>{t("hosts-state")}</th>
                        <th>{t("common-name")}</th>
                        <th class="hide-phone">{t("hosts-group")}</th>
                        <th class="hide-phone">{t("hosts-machine")}</th>
                        <th class="hide-phone">{t("hosts-last-seen")}</th>
                        <th class="hide-phone">{t("hosts-agent-version")}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || data.hosts.get() key=|h| (h.id, h.state, h.name.clone(), h.last_seen, h.group_id) let:h>
                        {
                            let id = h.id;
                            let machine = [h.facts.get("hostName"), h.facts.get("osName"), h.facts.get("osVersion")]
                                .into_iter()
                                .flatten()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(" · ");
                            view! {
                                <tr class="clickable" class:selected=move || data.selected.get() == Some(id) data-host=h.name.clone()
                                    tabindex="0"
                                    on:click=move |_| data.selected.set(Some(id))
                                    on:keydown=move |ev| if ev.key() == "Enter" { data.selected.set(Some(id)) }>
                                    <td><span class=state_class(h.state) data-state=h.state.as_str()>{state_label(h.state)}</span></td>
                                    <td>{h.name.clone()}</td>
                                    <td class="hide-phone">{group_name(h.group_id)}</td>
                                    <td class="hide-phone">{machine}</td>
                                    <td class="hide-phone">{h.last_seen.map(datetime).unwrap_or_default()}</td>
                                    <td class="hide-phone">{h.agent_version.clone()}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <Show when=move || data.hosts.with(Vec::is_empty)>
                <p class="muted center">{t("hosts-none")}</p>
            </Show>
        </div>
    }
}

#[component]
fn HostEditor(data: Data, adding: RwSignal<bool>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let comments = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = HostInput {
            name: name.get_untracked(),
            group_id: data.group.get_untracked(),
            comments: comments.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::send_json::<_, Host>(Method::Post, "/hosts", &body).await {
                Ok(h) => {
                    adding.set(false);
                    data.selected.set(Some(h.id));
                    data.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="host-editor">
            <h2>{t("hosts-new")}</h2>
            <div class="form-grid">
                <label>
                    <span>{t("common-name")}</span>
                    <input name="name" required maxlength="100" bind:value=name />
                </label>
                <label>
                    <span>{t("hosts-comments")}</span>
                    <input name="comments" maxlength="1000" bind:value=comments />
                </label>
            </div>
            <ErrorLine error />
            <FormButtons testid="save-host" on_cancel=move |_| adding.set(false) />
        </form>
    }
}

/// The host's detail: facts, package, credential, terminals, log.
#[component]
fn HostPanel(id: Id, data: Data) -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemHosts, Level::Manage);
    let detail = RwSignal::new(None::<HostDetail>);
    let error = RwSignal::new(None::<ApiError>);
    let issued = RwSignal::new(None::<IssuedCredential>);
    let refresh = move || {
        leptos::task::spawn_local(async move {
            match api::get::<HostDetail>(&format!("/hosts/{id}")).await {
                Ok(d) => detail.set(Some(d)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        data.version.track();
        refresh();
    });
    // The terminals apart: the 5-second refresh re-renders them (closing an open editor)
    // only when they changed.
    let terminals = Memo::new(move |_| detail.with(|d| d.as_ref().map(|d| d.terminals.clone())));
    let rotate = move |_| {
        if !confirm(&tr("hosts-rotate-confirm")) {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::send_json::<_, IssuedCredential>(
                Method::Post,
                &format!("/hosts/{id}/credential"),
                &(),
            )
            .await
            {
                Ok(c) => {
                    issued.set(Some(c));
                    data.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete = move |_| {
        confirm_delete(
            &tr("hosts-delete-confirm"),
            format!("/hosts/{id}"),
            error,
            move || {
                data.selected.set(None);
                data.reload();
            },
        )
    };
    view! {
        <section class="card host-panel" data-testid="host-panel">
            <ErrorLine error />
            {move || detail.get().map(|d| {
                let h = d.host.clone();
                view! {
                    <div class="toolbar">
                        <h2>{h.name.clone()}</h2>
                        <span class=state_class(h.state) data-testid="host-state" data-state=h.state.as_str()>{state_label(h.state)}</span>
                        <span class="spacer"></span>
                        <Show when=can_manage>
                            <a class="button primary" data-testid="download-package" href=format!("/api/v1/hosts/{id}/package") download="">
                                {t("hosts-download")}
                            </a>
                            <button data-testid="rotate-credential" on:click=rotate>{t("hosts-rotate")}</button>
                            <button class="danger" on:click=delete>{t("common-delete")}</button>
                        </Show>
                        <button class="icon-button" title=move || t("common-close")() aria-label=move || t("common-close")() on:click=move |_| data.selected.set(None)>"×"</button>
                    </div>
                    <p class="muted">{h.comments.clone()}</p>
                    {move || issued.get().map(|c| view! {
                        <p class="notice" data-testid="issued-credential">
                            {t("hosts-credential-once")} " " <code>{c.credential}</code>
                        </p>
                    })}
                    <Show when=move || h.state == HostState::Uninitialised>
                        <p class="notice">{t("hosts-start-hint")}</p>
                    </Show>
                    <details open=true>
                        <summary>{t("hosts-facts")}</summary>
                        <Show when={let empty = d.host.facts.is_empty(); move || empty}>
                            <p class="muted">{t("hosts-no-facts")}</p>
                        </Show>
                        <dl class="facts" data-testid="host-facts">
                            {d.host.facts.iter().map(|(k, v)| view! {
                                <dt>{fact_label(k)} " " <small class="muted">{k.clone()}</small></dt>
                                <dd data-fact=k.clone()>{fact_value(k, v)}</dd>
                            }).collect_view()}
                        </dl>
                    </details>
                }
            })}
            {move || terminals.get().map(|ts| view! {
                <Terminals host=id terminals=ts on_change=Callback::new(move |_| refresh()) />
            })}
            {move || detail.get().map(|d| {
                let many = d.processes.len() > 1;
                view! {
                    <Show when=move || many>
                        <div class="card notice" role="alert" data-testid="agent-processes">
                            <p><strong>{t("hosts-processes-title")}</strong></p>
                            <ul>
                                {d.processes.iter().map(|p| view! {
                                    <li>
                                        <code>{p.process.clone()}</code>
                                        {format!(" · {} · {} → {}", p.version, datetime(p.first_seen), datetime(p.last_seen))}
                                        {p.current.then(|| view! { " · " {t("hosts-processes-current")} })}
                                    </li>
                                }).collect_view()}
                            </ul>
                            <p class="muted">{t("hosts-processes-hint")}</p>
                        </div>
                    </Show>
                    <details>
                        <summary>{t("hosts-recent-tasks")}</summary>
                        <div class="table-wrap">
                            <table class="grid" data-testid="recent-tasks">
                                <tbody>
                                    {d.recent_tasks.iter().map(|r| view! {
                                        <tr>
                                            <td>{datetime(r.at)}</td>
                                            <td><code>{r.what.clone()}</code></td>
                                            <td class=if r.ok { "ok" } else { "error" }>{r.detail.clone()}</td>
                                            <td class="hide-phone">{format!("{} ms", r.millis)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    </details>
                    <details>
                        <summary>{t("hosts-log")}</summary>
                        <pre class="output agent-log" data-testid="agent-log">
                            {d.log.iter().map(|l| format!("{} {:5} {}\n", datetime(l.at), l.level, l.message)).collect::<String>()}
                        </pre>
                    </details>
                }
            })}
        </section>
    }
}

// ---------------------------------------------------------------- terminals

#[component]
fn Terminals(host: Id, terminals: Vec<Terminal>, on_change: Callback<()>) -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemHosts, Level::Manage);
    let adding = RwSignal::new(false);
    let error = RwSignal::new(None::<ApiError>);
    let tests = RwSignal::new(std::collections::HashMap::<
        Id,
        Result<ConnectionTest, String>,
    >::new());
    let test = move |terminal: Id, user: Id| {
        tests.update(|m| {
            m.insert(user, Err(tr("hosts-testing")));
        });
        leptos::task::spawn_local(async move {
            let r = api::send_json::<_, ConnectionTest>(
                Method::Post,
                &format!("/terminals/{terminal}/users/{user}/test"),
                &(),
            )
            .await;
            tests.update(|m| {
                m.insert(user, r.map_err(|e| e.message().to_string()));
            });
        });
    };
    let delete_terminal = move |id: Id| {
        confirm_delete(
            &tr("common-confirm-delete"),
            format!("/terminals/{id}"),
            error,
            move || on_change.run(()),
        )
    };
    let delete_user = move |terminal: Id, user: Id| {
        confirm_delete(
            &tr("common-confirm-delete"),
            format!("/terminals/{terminal}/users/{user}"),
            error,
            move || on_change.run(()),
        )
    };
    let empty = terminals.is_empty();
    view! {
        <div class="terminals" data-testid="terminals">
            <div class="toolbar">
                <h3>{t("hosts-terminals")}</h3>
                <span class="spacer"></span>
                <Show when=can_manage>
                    <button data-testid="new-terminal" on:click=move |_| adding.set(true)>{t("hosts-new-terminal")}</button>
                </Show>
            </div>
            <ErrorLine error />
            {move || adding.get().then(|| view! { <TerminalEditor host existing=None adding on_change /> })}
            <Show when=move || empty>
                <p class="muted">{t("hosts-no-terminals")}</p>
            </Show>
            {terminals.into_iter().map(|term| {
                let tid = term.id;
                let adding_user = RwSignal::new(false);
                let editing = RwSignal::new(false);
                let existing = term.clone();
                view! {
                    <div class="terminal" data-terminal=term.host_name.clone()>
                        <div class="toolbar">
                            <strong>{term.host_name.clone()}</strong>
                            <span class="muted">{format!("{}:{} · {}", term.host_address, term.port, term.connection_type.as_str().to_uppercase())}</span>
                            <span class="muted hide-phone">{format!("{} {}", term.os_name, term.os_version)}</span>
                            {(!term.connection_type.offered()).then(|| view! { <span class="badge warn" data-testid="retired-connection">{t("hosts-connection-retired-badge")}</span> })}
                            {term.allow_basic_http.then(|| view! { <span class="badge warn" data-testid="basic-http-allowed">{t("hosts-basic-http-allowed")}</span> })}
                            <span class="spacer"></span>
                            <Show when=can_manage>
                                <button class="link-button" data-testid="edit-terminal" on:click=move |_| editing.set(true)>{t("common-edit")}</button>
                                <button class="link-button" data-testid="new-terminal-user" on:click=move |_| adding_user.set(true)>{t("hosts-new-account")}</button>
                                <button class="link-button danger" on:click=move |_| delete_terminal(tid)>{t("common-delete")}</button>
                            </Show>
                        </div>
                        {move || editing.get().then(|| view! { <TerminalEditor host existing=Some(existing.clone()) adding=editing on_change /> })}
                        <HostKey terminal=term.clone() error on_change />
                        {move || adding_user.get().then(|| view! { <AccountEditor terminal=tid adding=adding_user on_change /> })}
                        <ul class="accounts">
                            {term.users.iter().map(|u| {
                                let uid = u.id;
                                let auth = match u.auth {
                                    TerminalAuth::Password => tr("hosts-auth-password"),
                                    TerminalAuth::PrivateKey => tr("hosts-auth-key"),
                                };
                                let no_secret = !u.has_secret;
                                view! {
                                    <li data-account=u.username.clone()>
                                        <span>{u.username.clone()}</span>
                                        <span class="muted">{auth}</span>
                                        {no_secret.then(|| view! { <span class="error" data-testid="no-secret">{t("hosts-no-secret")}</span> })}
                                        <Show when=can_manage>
                                            <button class="link-button" data-testid="test-connection" on:click=move |_| test(tid, uid)>{t("hosts-test")}</button>
                                            <button class="link-button danger" on:click=move |_| delete_user(tid, uid)>{t("common-delete")}</button>
                                        </Show>
                                        {move || tests.with(|m| m.get(&uid).cloned()).map(|r| match r {
                                            Ok(c) => view! {
                                                <span class=if c.ok { "ok" } else { "error" } data-testid="test-result" data-ok=c.ok.to_string()>
                                                    {format!("{} ({} ms)", c.message, c.millis)}
                                                </span>
                                            }.into_any(),
                                            Err(m) => view! { <span class="muted" data-testid="test-result">{m}</span> }.into_any(),
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                }
            }).collect_view()}
        </div>
    }
}

/// An SSH terminal's host key: the one trusted (learnt on first use), and a changed one
/// waiting to be accepted (connections are refused until then).
#[component]
fn HostKey(
    terminal: Terminal,
    error: RwSignal<Option<ApiError>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemHosts, Level::Manage);
    if terminal.connection_type != ConnectionType::Ssh {
        return ().into_any();
    }
    let tid = terminal.id;
    let pending = terminal.host_key_pending.clone();
    let trusted = if terminal.host_key.is_empty() {
        None
    } else {
        Some(terminal.host_key.clone())
    };
    let accept = {
        let fingerprint = pending.clone();
        move |_| {
            let body = AcceptHostKey {
                fingerprint: fingerprint.clone(),
            };
            leptos::task::spawn_local(async move {
                match api::send_json::<_, Terminal>(
                    Method::Post,
                    &format!("/terminals/{tid}/host-key"),
                    &body,
                )
                .await
                {
                    Ok(_) => on_change.run(()),
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let shown_trusted = trusted.clone().unwrap_or_else(|| "known_hosts".into());
    view! {
        <div class="host-key muted" data-testid="host-key">
            <span>{t("hosts-host-key")}": "</span>
            {match (trusted, terminal.host_key_at) {
                (Some(k), Some(at)) => view! { <span class="mono" data-testid="host-key-fingerprint">{format!("{k} · {}", datetime(at))}</span> }.into_any(),
                (Some(k), None) => view! { <span class="mono" data-testid="host-key-fingerprint">{k}</span> }.into_any(),
                (None, _) => view! { <span>{t("hosts-host-key-none")}</span> }.into_any(),
            }}
        </div>
        {(!pending.is_empty()).then(|| view! {
            <div class="error" data-testid="host-key-changed">
                <span>{t_args("hosts-host-key-changed", vec![("shown", pending.clone()), ("trusted", shown_trusted.clone())])}</span>
                <Show when=can_manage>
                    <button class="link-button danger" data-testid="accept-host-key" on:click=accept.clone()>{t("hosts-host-key-accept")}</button>
                </Show>
            </div>
        })}
    }
    .into_any()
}

/// Creates a terminal, or edits `existing`. Moving it (another address or port) clears
/// its accounts' stored secrets and host key: the form says so first and takes the
/// secrets again, sent in the same request.
#[component]
fn TerminalEditor(
    host: Id,
    existing: Option<Terminal>,
    adding: RwSignal<bool>,
    on_change: Callback<()>,
) -> impl IntoView {
    let id = existing.as_ref().map(|t| t.id);
    let field =
        |f: fn(&Terminal) -> String| RwSignal::new(existing.as_ref().map(f).unwrap_or_default());
    let name = field(|t| t.host_name.clone());
    let address = field(|t| t.host_address.clone());
    let port = field(|t| t.port.to_string());
    // A terminal stored with a type no longer offered (rexec) must pick another.
    let retired = existing
        .as_ref()
        .map(|t| t.connection_type)
        .filter(|k| !k.offered());
    let kind = RwSignal::new(
        existing
            .as_ref()
            .map(|t| t.connection_type)
            .filter(|k| k.offered())
            .unwrap_or(ConnectionType::Ssh)
            .as_str()
            .to_string(),
    );
    let os_name = field(|t| t.os_name.clone());
    let os_version = field(|t| t.os_version.clone());
    let comments = field(|t| t.comments.clone());
    let allow_basic_http = RwSignal::new(existing.as_ref().is_some_and(|t| t.allow_basic_http));
    // The accounts whose secrets a move would clear, each with the secret given again.
    let accounts: Vec<(TerminalUser, RwSignal<String>)> = existing
        .as_ref()
        .map(|t| {
            t.users
                .iter()
                .filter(|u| u.has_secret)
                .map(|u| (u.clone(), RwSignal::new(String::new())))
                .collect()
        })
        .unwrap_or_default();
    let saved_place = existing.as_ref().map(|t| (t.host_address.clone(), t.port));
    let moves = move || {
        saved_place.as_ref().is_some_and(|(a, p)| {
            let port_now = port.get().trim().parse::<u16>().ok();
            !address.get().trim().eq_ignore_ascii_case(a) || port_now != Some(*p)
        })
    };
    let error = RwSignal::new(None::<ApiError>);
    let submit = {
        let accounts = accounts.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let connection_type =
                ConnectionType::parse(&kind.get_untracked()).unwrap_or(ConnectionType::Ssh);
            let account_secrets = accounts
                .iter()
                .filter_map(|(u, secret)| {
                    let secret = secret.get_untracked();
                    (!secret.is_empty()).then_some(AccountSecret {
                        user_id: u.id,
                        secret,
                        passphrase: None,
                    })
                })
                .collect();
            let body = TerminalInput {
                host_id: host,
                host_name: name.get_untracked(),
                host_address: address.get_untracked(),
                port: port.get_untracked().trim().parse().ok(),
                connection_type,
                os_name: os_name.get_untracked(),
                os_version: os_version.get_untracked(),
                comments: comments.get_untracked(),
                allow_basic_http: connection_type == ConnectionType::Winrm
                    && allow_basic_http.get_untracked(),
                account_secrets,
            };
            leptos::task::spawn_local(async move {
                let r = match id {
                    Some(id) => {
                        api::send_json::<_, Terminal>(
                            Method::Put,
                            &format!("/terminals/{id}"),
                            &body,
                        )
                        .await
                    }
                    None => api::send_json::<_, Terminal>(Method::Post, "/terminals", &body).await,
                };
                match r {
                    Ok(_) => {
                        adding.set(false);
                        on_change.run(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let default_port = move || {
        ConnectionType::parse(&kind.get())
            .map(|k| k.default_port().to_string())
            .unwrap_or_default()
    };
    let is_winrm = move || kind.get() == ConnectionType::Winrm.as_str();
    view! {
        <form class="card form editor" on:submit=submit data-testid="terminal-editor">
            <Show when=move || id.is_some()>
                <h3>{t("hosts-edit-terminal")}</h3>
            </Show>
            <div class="form-grid">
                <label>
                    <span>{t("hosts-terminal-name")}</span>
                    <input name="host_name" required maxlength="100" bind:value=name />
                </label>
                <label>
                    <span>{t("hosts-address")}</span>
                    <input name="host_address" required maxlength="255" bind:value=address />
                </label>
                <label>
                    <span>{t("hosts-connection")}</span>
                    <select name="connection_type" bind:value=kind>
                        <option value="ssh">"SSH"</option>
                        <option value="winrm">"WinRM"</option>
                    </select>
                </label>
                {retired.map(|k| view! {
                    <p class="warning" data-testid="terminal-retired-type">
                        {t("hosts-connection-retired")} " (" {k.as_str()} ")"
                    </p>
                })}
                <label>
                    <span>{t("hosts-port")}</span>
                    <input name="port" type="number" min="1" max="65535" placeholder=default_port bind:value=port />
                </label>
                <label>
                    <span>{t("hosts-os-name")}</span>
                    <input name="os_name" maxlength="100" bind:value=os_name />
                </label>
                <label>
                    <span>{t("hosts-os-version")}</span>
                    <input name="os_version" maxlength="100" bind:value=os_version />
                </label>
                <label>
                    <span>{t("hosts-comments")}</span>
                    <input name="comments" maxlength="1000" bind:value=comments />
                </label>
            </div>
            <Show when=is_winrm>
                <label class="check">
                    <input type="checkbox" name="allow_basic_http" data-testid="allow-basic-http" bind:checked=allow_basic_http />
                    <span>{t("hosts-allow-basic-http")}</span>
                </label>
            </Show>
            <Show when=moves>
                <p class="error" data-testid="move-warning">{t("hosts-move-warning")}</p>
                {accounts.iter().map(|(u, secret)| {
                    let secret = *secret;
                    view! {
                        <label>
                            <span>{t_args("hosts-secret-again", vec![("user", u.username.clone())])}</span>
                            {if u.auth == TerminalAuth::PrivateKey {
                                view! { <textarea name="secret_again" rows="4" spellcheck="false" autocomplete="off" bind:value=secret></textarea> }.into_any()
                            } else {
                                view! { <input name="secret_again" type="password" autocomplete="new-password" bind:value=secret /> }.into_any()
                            }}
                        </label>
                    }
                }).collect_view()}
            </Show>
            <ErrorLine error />
            <FormButtons testid="save-terminal" on_cancel=move |_| adding.set(false) />
        </form>
    }
}

#[component]
fn AccountEditor(terminal: Id, adding: RwSignal<bool>, on_change: Callback<()>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let auth = RwSignal::new("password".to_string());
    let secret = RwSignal::new(String::new());
    let passphrase = RwSignal::new(String::new());
    let comments = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let is_key = move || auth.get() == "private_key";
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = TerminalUserInput {
            username: username.get_untracked(),
            auth: if auth.get_untracked() == "private_key" {
                TerminalAuth::PrivateKey
            } else {
                TerminalAuth::Password
            },
            secret: Some(secret.get_untracked()),
            passphrase: Some(passphrase.get_untracked()).filter(|p| !p.is_empty()),
            comments: comments.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::send_json::<_, Terminal>(
                Method::Post,
                &format!("/terminals/{terminal}/users"),
                &body,
            )
            .await
            {
                Ok(_) => {
                    adding.set(false);
                    on_change.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="account-editor">
            <div class="form-grid">
                <label>
                    <span>{t("hosts-username")}</span>
                    <input name="username" required maxlength="64" autocomplete="off" bind:value=username />
                </label>
                <label>
                    <span>{t("hosts-auth")}</span>
                    <select name="auth" bind:value=auth>
                        <option value="password">{t("hosts-auth-password")}</option>
                        <option value="private_key">{t("hosts-auth-key")}</option>
                    </select>
                </label>
                <label>
                    <span>{t("hosts-comments")}</span>
                    <input name="comments" maxlength="1000" bind:value=comments />
                </label>
            </div>
            {move || if is_key() {
                view! {
                    <label>
                        <span>{t("hosts-private-key")}</span>
                        <textarea name="secret" required rows="6" spellcheck="false" autocomplete="off" bind:value=secret></textarea>
                    </label>
                    <label>
                        <span>{t("hosts-passphrase")}</span>
                        <input name="passphrase" type="password" autocomplete="new-password" bind:value=passphrase />
                    </label>
                }.into_any()
            } else {
                view! {
                    <label>
                        <span>{t("users-password")}</span>
                        <input name="secret" type="password" required autocomplete="new-password" bind:value=secret />
                    </label>
                }.into_any()
            }}
            <p class="muted">{t("hosts-secret-write-only")}</p>
            <ErrorLine error />
            <FormButtons testid="save-account" on_cancel=move |_| adding.set(false) />
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_facts_read_in_gib_and_groups_nest_in_tree_order() {
        assert_eq!(fact_value("memoryTotal", "25276063744"), "23.5 GiB");
        assert_eq!(fact_value("osName", "Debian"), "Debian");
        let g = |id, parent| HostGroup {
            id,
            name: format!("g{id}"),
            parent_id: parent,
        };
        let t = tree(&[g(1, None), g(2, Some(1)), g(3, None), g(4, Some(2))]);
        let order: Vec<(i64, usize)> = t.iter().map(|(g, d)| (g.id, *d)).collect();
        assert_eq!(order, vec![(1, 0), (2, 1), (4, 2), (3, 0)]);
    }
}
