//! System › Users & groups: users (CRUD, enable/disable), groups with the permission
//! matrix of 15 functions × none/view/manage, and "associate users".

use crate::api::{self, encode, ApiError, Method};
use crate::components::confirm::confirm_delete;
use crate::components::error_line::ErrorLine;
use crate::components::form_buttons::FormButtons;
use crate::components::guard::{Guarded, PageTitle};
use crate::components::search_box::SearchBox;
use crate::i18n::{t, tr, translate, use_i18n};
use crate::session::use_session;
use leptos::prelude::*;
use shared::dto::group::{Group, GroupInput, GroupMembers};
use shared::dto::user::{User, UserCreate, UserUpdate};
use shared::dto::{Id, Page};
use shared::{Function, Level};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Users,
    Groups,
}

/// Data shared by both tabs; `version` bumps to refetch.
#[derive(Clone, Copy)]
struct Data {
    users: RwSignal<Vec<User>>,
    groups: RwSignal<Vec<Group>>,
    total_users: RwSignal<i64>,
    query: RwSignal<String>,
    version: RwSignal<u32>,
    error: RwSignal<Option<ApiError>>,
}

impl Data {
    fn reload(&self) {
        self.version.update(|v| *v += 1);
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Guarded function=Function::SystemUsers>
            <PageTitle function=Function::SystemUsers />
            <UsersAndGroups />
        </Guarded>
    }
}

#[component]
fn UsersAndGroups() -> impl IntoView {
    let tab = RwSignal::new(Tab::Users);
    let data = Data {
        users: RwSignal::new(vec![]),
        groups: RwSignal::new(vec![]),
        total_users: RwSignal::new(0),
        query: RwSignal::new(String::new()),
        version: RwSignal::new(0),
        error: RwSignal::new(None),
    };
    Effect::new(move |_| {
        data.version.track();
        let q = data.query.get();
        leptos::task::spawn_local(async move {
            let users = api::get::<Page<User>>(&format!("/users?limit=500&q={}", encode(&q))).await;
            let groups = api::get::<Page<Group>>("/groups?limit=500").await;
            match (users, groups) {
                (Ok(u), Ok(g)) => {
                    data.total_users.set(u.total);
                    data.users.set(u.items);
                    data.groups.set(g.items);
                }
                (Err(e), _) | (_, Err(e)) => data.error.set(Some(e)),
            }
        });
    });
    view! {
        <div class="tabs" role="tablist">
            <button role="tab" class:active=move || tab.get() == Tab::Users data-testid="tab-users" on:click=move |_| tab.set(Tab::Users)>
                {t("users-tab-users")}
            </button>
            <button role="tab" class:active=move || tab.get() == Tab::Groups data-testid="tab-groups" on:click=move |_| tab.set(Tab::Groups)>
                {t("users-tab-groups")}
            </button>
        </div>
        <ErrorLine error=data.error />
        {move || match tab.get() {
            Tab::Users => view! { <UsersTab data /> }.into_any(),
            Tab::Groups => view! { <GroupsTab data /> }.into_any(),
        }}
    }
}

// ---------------------------------------------------------------- users

#[derive(Clone, Default)]
struct UserDraft {
    id: Option<Id>,
    login: String,
    display_name: String,
    password: String,
    email: String,
    phone: String,
    mobile: String,
    enabled: bool,
    may_login_agent: bool,
    group_ids: Vec<Id>,
}

impl UserDraft {
    fn new_user() -> Self {
        UserDraft {
            enabled: true,
            ..Default::default()
        }
    }

    fn of(u: &User) -> Self {
        UserDraft {
            id: Some(u.id),
            login: u.login.clone(),
            display_name: u.display_name.clone(),
            password: String::new(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            mobile: u.mobile.clone(),
            enabled: u.enabled,
            may_login_agent: u.may_login_agent,
            group_ids: u.group_ids.clone(),
        }
    }

    fn update_body(&self) -> UserUpdate {
        UserUpdate {
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            mobile: self.mobile.clone(),
            enabled: self.enabled,
            may_login_agent: self.may_login_agent,
            group_ids: self.group_ids.clone(),
            password: Some(self.password.clone()).filter(|p| !p.is_empty()),
        }
    }
}

#[component]
fn UsersTab(data: Data) -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemUsers, Level::Manage);
    let editing = RwSignal::new(None::<UserDraft>);
    let group_name = move |id: Id| {
        data.groups.with(|gs| {
            gs.iter()
                .find(|g| g.id == id)
                .map(|g| g.name.clone())
                .unwrap_or_default()
        })
    };
    let set_enabled = move |u: User, enabled: bool| {
        let mut d = UserDraft::of(&u);
        d.enabled = enabled;
        let body = d.update_body();
        leptos::task::spawn_local(async move {
            match api::send_json::<_, User>(Method::Put, &format!("/users/{}", u.id), &body).await {
                Ok(_) => data.reload(),
                Err(e) => data.error.set(Some(e)),
            }
        });
    };
    let delete = move |id: Id| {
        confirm_delete(
            &tr("common-confirm-delete"),
            format!("/users/{id}"),
            data.error,
            move || data.reload(),
        )
    };
    view! {
        <div class="toolbar">
            <SearchBox testid="user-search" query=data.query total=data.total_users />
            <span class="spacer"></span>
            <Show when=can_manage>
                <button class="primary" data-testid="new-user" on:click=move |_| editing.set(Some(UserDraft::new_user()))>
                    {t("users-new")}
                </button>
            </Show>
        </div>
        {move || editing.get().map(|d| view! { <UserEditor draft=d data editing /> })}
        <div class="table-wrap">
            <table class="grid" data-testid="users-table">
                <thead>
                    <tr>
                        <th>{t("users-login")}</th>
                        <th>{t("users-display-name")}</th>
                        <th class="hide-phone">{t("users-email")}</th>
                        <th>{t("users-groups")}</th>
                        <th>{t("users-enabled")}</th>
                        <th class="hide-phone">{t("users-wechat")}</th>
                        <th>{t("common-actions")}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || data.users.get() key=|u| (u.id, u.updated_at, u.group_ids.clone()) let:u>
                        {
                            let u2 = u.clone();
                            let u3 = u.clone();
                            let id = u.id;
                            view! {
                                <tr data-login=u.login.clone()>
                                    <td>{u.login.clone()}</td>
                                    <td>{u.display_name.clone()}</td>
                                    <td class="hide-phone">{u.email.clone()}</td>
                                    <td>{u.group_ids.iter().map(|g| group_name(*g)).collect::<Vec<_>>().join(", ")}</td>
                                    <td>{if u.enabled { t("common-yes")() } else { t("common-no")() }}</td>
                                    <td class="hide-phone">
                                        {if u.wechat_bound { t("users-wechat-bound")() } else { t("users-wechat-unbound")() }}
                                    </td>
                                    <td class="actions">
                                        <Show when=can_manage>
                                            {
                                                let u2 = u2.clone();
                                                let u3 = u3.clone();
                                                view! {
                                                    <button class="link-button" on:click=move |_| editing.set(Some(UserDraft::of(&u2)))>{t("common-edit")}</button>
                                                    <button class="link-button" on:click={
                                                        let u3 = u3.clone();
                                                        move |_| set_enabled(u3.clone(), !u3.enabled)
                                                    }>
                                                        {if u3.enabled { t("users-disable")() } else { t("users-enable")() }}
                                                    </button>
                                                    <button class="link-button danger" on:click=move |_| delete(id)>{t("common-delete")}</button>
                                                }
                                            }
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn UserEditor(draft: UserDraft, data: Data, editing: RwSignal<Option<UserDraft>>) -> impl IntoView {
    let is_new = draft.id.is_none();
    let d = RwSignal::new(draft);
    let error = RwSignal::new(None::<ApiError>);
    let login = RwSignal::new(d.get_untracked().login);
    let display_name = RwSignal::new(d.get_untracked().display_name);
    let password = RwSignal::new(String::new());
    let email = RwSignal::new(d.get_untracked().email);
    let phone = RwSignal::new(d.get_untracked().phone);
    let mobile = RwSignal::new(d.get_untracked().mobile);
    let enabled = RwSignal::new(d.get_untracked().enabled);
    let agent = RwSignal::new(d.get_untracked().may_login_agent);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut draft = d.get_untracked();
        draft.login = login.get_untracked();
        draft.display_name = display_name.get_untracked();
        draft.password = password.get_untracked();
        draft.email = email.get_untracked();
        draft.phone = phone.get_untracked();
        draft.mobile = mobile.get_untracked();
        draft.enabled = enabled.get_untracked();
        draft.may_login_agent = agent.get_untracked();
        leptos::task::spawn_local(async move {
            let result = match draft.id {
                None => {
                    let body = UserCreate {
                        login: draft.login.clone(),
                        display_name: draft.display_name.clone(),
                        password: draft.password.clone(),
                        email: draft.email.clone(),
                        phone: draft.phone.clone(),
                        mobile: draft.mobile.clone(),
                        enabled: draft.enabled,
                        may_login_agent: draft.may_login_agent,
                        locale: None,
                        group_ids: draft.group_ids.clone(),
                    };
                    api::send_json::<_, User>(Method::Post, "/users", &body).await
                }
                Some(id) => {
                    api::send_json::<_, User>(
                        Method::Put,
                        &format!("/users/{id}"),
                        &draft.update_body(),
                    )
                    .await
                }
            };
            match result {
                Ok(_) => {
                    editing.set(None);
                    data.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="user-editor">
            <h2>{if is_new { t("users-new")() } else { t("users-edit")() }}</h2>
            <div class="form-grid">
                <label>
                    <span>{t("users-login")}</span>
                    <input name="login" required maxlength="64" disabled=!is_new bind:value=login />
                </label>
                <label>
                    <span>{t("users-display-name")}</span>
                    <input name="display_name" required maxlength="100" bind:value=display_name />
                </label>
                <label>
                    <span>{if is_new { t("users-password")() } else { t("users-new-password")() }}</span>
                    <input name="password" type="password" autocomplete="new-password" required=is_new minlength="8" bind:value=password />
                </label>
                <label>
                    <span>{t("users-email")}</span>
                    <input name="email" type="email" bind:value=email />
                </label>
                <label>
                    <span>{t("users-phone")}</span>
                    <input name="phone" type="tel" bind:value=phone />
                </label>
                <label>
                    <span>{t("users-mobile")}</span>
                    <input name="mobile" type="tel" bind:value=mobile />
                </label>
            </div>
            <label class="check">
                <input type="checkbox" name="enabled" bind:checked=enabled />
                <span>{t("users-enabled")}</span>
            </label>
            <label class="check">
                <input type="checkbox" name="may_login_agent" bind:checked=agent />
                <span>{t("users-agent")}</span>
            </label>
            <fieldset class="checks">
                <legend>{t("users-groups")}</legend>
                <For each=move || data.groups.get() key=|g| g.id let:g>
                    {
                        let gid = g.id;
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    data-group=g.name.clone()
                                    prop:checked=move || d.with(|d| d.group_ids.contains(&gid))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        d.update(|d| {
                                            d.group_ids.retain(|x| *x != gid);
                                            if on {
                                                d.group_ids.push(gid);
                                            }
                                        });
                                    }
                                />
                                <span>{g.name.clone()}</span>
                            </label>
                        }
                    }
                </For>
            </fieldset>
            <ErrorLine error />
            <FormButtons testid="save-user" on_cancel=move |_| editing.set(None) />
        </form>
    }
}

// ---------------------------------------------------------------- groups

#[component]
fn GroupsTab(data: Data) -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemUsers, Level::Manage);
    let editing = RwSignal::new(None::<Option<Group>>);
    let associating = RwSignal::new(None::<Group>);
    let user_name = move |id: Id| {
        data.users.with(|us| {
            us.iter()
                .find(|u| u.id == id)
                .map(|u| u.display_name.clone())
                .unwrap_or_else(|| format!("#{id}"))
        })
    };
    let delete = move |id: Id| {
        confirm_delete(
            &tr("common-confirm-delete"),
            format!("/groups/{id}"),
            data.error,
            move || data.reload(),
        )
    };
    view! {
        <div class="toolbar">
            <span class="spacer"></span>
            <Show when=can_manage>
                <button class="primary" data-testid="new-group" on:click=move |_| editing.set(Some(None))>{t("groups-new")}</button>
            </Show>
        </div>
        {move || editing.get().map(|g| view! { <GroupEditor group=g data editing /> })}
        {move || associating.get().map(|g| view! { <Associate group=g data associating /> })}
        <div class="table-wrap">
            <table class="grid" data-testid="groups-table">
                <thead>
                    <tr>
                        <th>{t("common-name")}</th>
                        <th class="hide-phone">{t("common-description")}</th>
                        <th>{t("groups-members")}</th>
                        <th>{t("common-actions")}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || data.groups.get() key=|g| (g.id, g.name.clone(), g.user_ids.clone(), g.permissions.clone()) let:g>
                        {
                            let g2 = g.clone();
                            let g3 = g.clone();
                            let id = g.id;
                            view! {
                                <tr data-group=g.name.clone()>
                                    <td>{g.name.clone()}</td>
                                    <td class="hide-phone">{g.description.clone()}</td>
                                    <td>{g.user_ids.iter().map(|u| user_name(*u)).collect::<Vec<_>>().join(", ")}</td>
                                    <td class="actions">
                                        <Show when=can_manage>
                                            {
                                                let g2 = g2.clone();
                                                let g3 = g3.clone();
                                                view! {
                                                    <button class="link-button" on:click=move |_| editing.set(Some(Some(g2.clone())))>{t("common-edit")}</button>
                                                    <button class="link-button" data-testid="associate" on:click=move |_| associating.set(Some(g3.clone()))>{t("groups-associate")}</button>
                                                    <button class="link-button danger" on:click=move |_| delete(id)>{t("common-delete")}</button>
                                                }
                                            }
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn GroupEditor(
    group: Option<Group>,
    data: Data,
    editing: RwSignal<Option<Option<Group>>>,
) -> impl IntoView {
    let id = group.as_ref().map(|g| g.id);
    let name = RwSignal::new(group.as_ref().map(|g| g.name.clone()).unwrap_or_default());
    let description = RwSignal::new(
        group
            .as_ref()
            .map(|g| g.description.clone())
            .unwrap_or_default(),
    );
    let matrix = RwSignal::new(group.map(|g| g.permissions).unwrap_or_default());
    let error = RwSignal::new(None::<ApiError>);
    let i18n = use_i18n();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = GroupInput {
            name: name.get_untracked(),
            description: description.get_untracked(),
            permissions: matrix.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let r = match id {
                None => api::send_json::<_, Group>(Method::Post, "/groups", &body).await,
                Some(id) => {
                    api::send_json::<_, Group>(Method::Put, &format!("/groups/{id}"), &body).await
                }
            };
            match r {
                Ok(_) => {
                    editing.set(None);
                    data.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="group-editor">
            <h2>{if id.is_none() { t("groups-new")() } else { t("groups-edit")() }}</h2>
            <div class="form-grid">
                <label>
                    <span>{t("common-name")}</span>
                    <input name="name" required maxlength="100" bind:value=name />
                </label>
                <label>
                    <span>{t("common-description")}</span>
                    <input name="description" maxlength="1000" bind:value=description />
                </label>
            </div>
            <h3>{t("groups-permissions")}</h3>
            <div class="table-wrap">
                <table class="grid matrix" data-testid="matrix">
                    <thead>
                        <tr>
                            <th>{t("groups-function")}</th>
                            {Level::ALL.into_iter().map(|l| view! { <th>{t(level_key(l))}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {Function::ALL
                            .into_iter()
                            .map(|f| {
                                view! {
                                    <tr data-function=f.key()>
                                        <td>
                                            {move || {
                                                let l = i18n.locale.get();
                                                format!(
                                                    "{} › {}",
                                                    translate(l, &format!("menu-{}", f.menu().as_str()), &[]),
                                                    translate(l, &format!("fn-{}", f.key()), &[]),
                                                )
                                            }}
                                        </td>
                                        {Level::ALL
                                            .into_iter()
                                            .map(|l| {
                                                view! {
                                                    <td class="center">
                                                        <input
                                                            type="radio"
                                                            name=format!("perm-{}", f.key())
                                                            value=l.as_str()
                                                            aria-label=format!("{} {}", f.key(), l.as_str())
                                                            prop:checked=move || matrix.with(|m| m.get(f) == l)
                                                            on:change=move |_| matrix.update(|m| m.set(f, l))
                                                        />
                                                    </td>
                                                }
                                            })
                                            .collect_view()}
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
            <ErrorLine error />
            <FormButtons testid="save-group" on_cancel=move |_| editing.set(None) />
        </form>
    }
}

fn level_key(l: Level) -> &'static str {
    match l {
        Level::None => "level-none",
        Level::View => "level-view",
        Level::Manage => "level-manage",
    }
}

/// "Associate users": tick users to add to the group in one step.
#[component]
fn Associate(group: Group, data: Data, associating: RwSignal<Option<Group>>) -> impl IntoView {
    let chosen = RwSignal::new(Vec::<Id>::new());
    let error = RwSignal::new(None::<ApiError>);
    let members = group.user_ids.clone();
    let gid = group.id;
    let candidates = move || {
        data.users
            .get()
            .into_iter()
            .filter(|u| !members.contains(&u.id))
            .collect::<Vec<_>>()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = GroupMembers {
            user_ids: chosen.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::send_json::<_, Group>(Method::Post, &format!("/groups/{gid}/members"), &body)
                .await
            {
                Ok(_) => {
                    associating.set(None);
                    data.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="associate-form">
            <h2>{t("groups-associate")} " — " {group.name.clone()}</h2>
            <p class="muted">{t("groups-associate-help")}</p>
            <fieldset class="checks">
                <For each=candidates key=|u| u.id let:u>
                    {
                        let uid = u.id;
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    data-login=u.login.clone()
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| {
                                            c.retain(|x| *x != uid);
                                            if on {
                                                c.push(uid);
                                            }
                                        });
                                    }
                                />
                                <span>{format!("{} ({})", u.display_name, u.login)}</span>
                            </label>
                        }
                    }
                </For>
            </fieldset>
            <ErrorLine error />
            <FormButtons testid="save-associate" on_cancel=move |_| associating.set(None) />
        </form>
    }
}
