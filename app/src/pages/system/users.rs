//! System › Users & groups: users (CRUD, enable/disable), groups with the permission
//! matrix of 15 functions × none/view/manage, and "associate users".

use crate::api::{groups, users, ApiError};
use crate::components::confirm::confirm_then;
use crate::components::editor::{Editing, EditorSlot};
use crate::components::error_line::ErrorLine;
use crate::components::field::{first_problem, Checked, TextField};
use crate::components::form_buttons::FormButtons;
use crate::components::guard::{Guarded, PageTitle};
use crate::components::list::{fetch_all, use_list, List, ListSearch, Pager, PAGE_SIZE};
use crate::i18n::{t, tr, translate, use_i18n};
use crate::session::use_session;
use leptos::prelude::*;
use shared::dto::group::{Group, GroupInput, GroupMembers};
use shared::dto::user::{User, UserCreate, UserUpdate};
use shared::dto::Id;
use shared::validate::fields;
use shared::{Function, Level};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Users,
    Groups,
}

/// What both tabs show: a page of users, a page of groups, and every group and user
/// by id (names in the tables, the group checkboxes, the users to associate), fetched
/// page by page; `reload` after a change refetches all of it.
#[derive(Clone, Copy)]
struct Data {
    users: List<User>,
    groups: List<Group>,
    all_groups: RwSignal<Vec<Group>>,
    all_users: RwSignal<Vec<User>>,
    lookups: RwSignal<u32>,
    error: RwSignal<Option<ApiError>>,
}

impl Data {
    fn reload(&self) {
        self.users.reload();
        self.groups.reload();
        self.lookups.update(|v| *v = v.wrapping_add(1));
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
        users: use_list(PAGE_SIZE, users::list),
        groups: use_list(PAGE_SIZE, groups::list),
        all_groups: RwSignal::new(vec![]),
        all_users: RwSignal::new(vec![]),
        lookups: RwSignal::new(0),
        error: RwSignal::new(None),
    };
    Effect::new(move |_| {
        data.lookups.track();
        leptos::task::spawn_local(async move {
            match (fetch_all(groups::list).await, fetch_all(users::list).await) {
                (Ok(g), Ok(u)) => {
                    data.all_groups.set(g);
                    data.all_users.set(u);
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

/// The body of a user's update: the user as it is, with `enabled` changed.
fn with_enabled(u: &User, enabled: bool) -> UserUpdate {
    UserUpdate {
        display_name: u.display_name.clone(),
        email: u.email.clone(),
        phone: u.phone.clone(),
        mobile: u.mobile.clone(),
        enabled,
        may_login_agent: u.may_login_agent,
        group_ids: u.group_ids.clone(),
        password: None,
    }
}

#[component]
fn UsersTab(data: Data) -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemUsers, Level::Manage);
    let editor = EditorSlot::<User>::new();
    let group_name = move |id: Id| {
        data.all_groups.with(|gs| {
            gs.iter()
                .find(|g| g.id == id)
                .map(|g| g.name.clone())
                .unwrap_or_default()
        })
    };
    let set_enabled = move |u: User, enabled: bool| {
        let body = with_enabled(&u, enabled);
        leptos::task::spawn_local(async move {
            match users::update(u.id, &body).await {
                Ok(_) => data.reload(),
                Err(e) => data.error.set(Some(e)),
            }
        });
    };
    let delete = move |id: Id| {
        confirm_then(
            &tr("common-confirm-delete"),
            users::delete(id),
            data.error,
            move || data.reload(),
        )
    };
    view! {
        <div class="toolbar">
            <ListSearch testid="user-search" list=data.users />
            <span class="spacer"></span>
            <Show when=can_manage>
                <button class="primary" data-testid="new-user" on:click=move |_| editor.open_new()>
                    {t("users-new")}
                </button>
            </Show>
        </div>
        {move || editor.get().map(|e| view! { <UserEditor editing=e data editor /> })}
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
                    <For each=move || data.users.items.get() key=|u| (u.id, u.updated_at, u.group_ids.clone()) let:u>
                        {
                            let u2 = u.clone();
                            let u3 = u.clone();
                            let id = u.id;
                            let groups = u.group_ids.clone();
                            view! {
                                <tr data-login=u.login.clone()>
                                    <td>{u.login.clone()}</td>
                                    <td>{u.display_name.clone()}</td>
                                    <td class="hide-phone">{u.email.clone()}</td>
                                    <td>{move || groups.iter().map(|g| group_name(*g)).collect::<Vec<_>>().join(", ")}</td>
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
                                                    <button class="link-button" on:click=move |_| editor.open(u2.clone())>{t("common-edit")}</button>
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
        <Pager testid="users-pager" list=data.users />
    }
}

#[component]
fn UserEditor(editing: Editing<User>, data: Data, editor: EditorSlot<User>) -> impl IntoView {
    let is_new = editing.is_new();
    let id = editing.existing().map(|u| u.id);
    let i18n = use_i18n();
    let error = RwSignal::new(None::<ApiError>);
    let text =
        |of: fn(&User) -> &String| RwSignal::new(editing.field(|u| of(u).clone(), String::new()));
    let login = text(|u| &u.login);
    let display_name = text(|u| &u.display_name);
    let password = RwSignal::new(String::new());
    let email = text(|u| &u.email);
    let phone = text(|u| &u.phone);
    let mobile = text(|u| &u.mobile);
    let enabled = RwSignal::new(editing.field(|u| u.enabled, true));
    let agent = RwSignal::new(editing.field(|u| u.may_login_agent, false));
    let group_ids = RwSignal::new(editing.field(|u| u.group_ids.clone(), vec![]));
    let password_rule = if is_new {
        fields::USER_PASSWORD
    } else {
        fields::USER_NEW_PASSWORD
    };
    let password_label = if is_new {
        "users-password"
    } else {
        "users-new-password"
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked = [
            Checked {
                name: "login",
                label: "users-login",
                rule: fields::USER_LOGIN,
                value: login.get_untracked(),
            },
            Checked {
                name: "display_name",
                label: "users-display-name",
                rule: fields::USER_DISPLAY_NAME,
                value: display_name.get_untracked(),
            },
            Checked {
                name: "password",
                label: password_label,
                rule: password_rule,
                value: password.get_untracked(),
            },
            Checked {
                name: "email",
                label: "users-email",
                rule: fields::USER_EMAIL,
                value: email.get_untracked(),
            },
            Checked {
                name: "phone",
                label: "users-phone",
                rule: fields::USER_PHONE,
                value: phone.get_untracked(),
            },
            Checked {
                name: "mobile",
                label: "users-mobile",
                rule: fields::USER_PHONE,
                value: mobile.get_untracked(),
            },
        ];
        if let Some(problem) = first_problem(i18n.locale.get_untracked(), &checked) {
            error.set(Some(problem));
            return;
        }
        let update = UserUpdate {
            display_name: display_name.get_untracked(),
            email: email.get_untracked(),
            phone: phone.get_untracked(),
            mobile: mobile.get_untracked(),
            enabled: enabled.get_untracked(),
            may_login_agent: agent.get_untracked(),
            group_ids: group_ids.get_untracked(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
        };
        let login = login.get_untracked();
        leptos::task::spawn_local(async move {
            let result = match id {
                None => {
                    let body = UserCreate {
                        login,
                        display_name: update.display_name,
                        password: update.password.unwrap_or_default(),
                        email: update.email,
                        phone: update.phone,
                        mobile: update.mobile,
                        enabled: update.enabled,
                        may_login_agent: update.may_login_agent,
                        locale: None,
                        group_ids: update.group_ids,
                    };
                    users::create(&body).await
                }
                Some(id) => users::update(id, &update).await,
            };
            match result {
                Ok(_) => {
                    editor.close();
                    data.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="user-editor">
            <h2>{t(editing.title_key("users-new", "users-edit"))}</h2>
            <div class="form-grid">
                <TextField label="users-login" name="login" rule=fields::USER_LOGIN value=login disabled=!is_new />
                <TextField label="users-display-name" name="display_name" rule=fields::USER_DISPLAY_NAME value=display_name />
                <TextField label=password_label name="password" rule=password_rule value=password kind="password" autocomplete="new-password" />
                <TextField label="users-email" name="email" rule=fields::USER_EMAIL value=email kind="email" />
                <TextField label="users-phone" name="phone" rule=fields::USER_PHONE value=phone kind="tel" />
                <TextField label="users-mobile" name="mobile" rule=fields::USER_PHONE value=mobile kind="tel" />
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
                <For each=move || data.all_groups.get() key=|g| g.id let:g>
                    {
                        let gid = g.id;
                        view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    data-group=g.name.clone()
                                    prop:checked=move || group_ids.with(|ids| ids.contains(&gid))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        group_ids.update(|ids| {
                                            ids.retain(|x| *x != gid);
                                            if on {
                                                ids.push(gid);
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
            <FormButtons testid="save-user" on_cancel=move |_| editor.close() />
        </form>
    }
}

// ---------------------------------------------------------------- groups

#[component]
fn GroupsTab(data: Data) -> impl IntoView {
    let session = use_session();
    let can_manage = move || session.can(Function::SystemUsers, Level::Manage);
    let editor = EditorSlot::<Group>::new();
    let associating = RwSignal::new(None::<Group>);
    let user_name = move |id: Id| {
        data.all_users.with(|us| {
            us.iter()
                .find(|u| u.id == id)
                .map(|u| u.display_name.clone())
                .unwrap_or_else(|| format!("#{id}"))
        })
    };
    let delete = move |id: Id| {
        confirm_then(
            &tr("common-confirm-delete"),
            groups::delete(id),
            data.error,
            move || data.reload(),
        )
    };
    view! {
        <div class="toolbar">
            <ListSearch testid="group-search" list=data.groups />
            <span class="spacer"></span>
            <Show when=can_manage>
                <button class="primary" data-testid="new-group" on:click=move |_| editor.open_new()>{t("groups-new")}</button>
            </Show>
        </div>
        {move || editor.get().map(|e| view! { <GroupEditor editing=e data editor /> })}
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
                    <For each=move || data.groups.items.get() key=|g| (g.id, g.name.clone(), g.user_ids.clone(), g.permissions.clone()) let:g>
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
                                                    <button class="link-button" on:click=move |_| editor.open(g2.clone())>{t("common-edit")}</button>
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
        <Pager testid="groups-pager" list=data.groups />
    }
}

#[component]
fn GroupEditor(editing: Editing<Group>, data: Data, editor: EditorSlot<Group>) -> impl IntoView {
    let id = editing.existing().map(|g| g.id);
    let name = RwSignal::new(editing.field(|g| g.name.clone(), String::new()));
    let description = RwSignal::new(editing.field(|g| g.description.clone(), String::new()));
    let matrix = RwSignal::new(editing.field(|g| g.permissions.clone(), Default::default()));
    let error = RwSignal::new(None::<ApiError>);
    let i18n = use_i18n();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked = [
            Checked {
                name: "name",
                label: "common-name",
                rule: fields::GROUP_NAME,
                value: name.get_untracked(),
            },
            Checked {
                name: "description",
                label: "common-description",
                rule: fields::GROUP_DESCRIPTION,
                value: description.get_untracked(),
            },
        ];
        if let Some(problem) = first_problem(i18n.locale.get_untracked(), &checked) {
            error.set(Some(problem));
            return;
        }
        let body = GroupInput {
            name: name.get_untracked(),
            description: description.get_untracked(),
            permissions: matrix.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let r = match id {
                None => groups::create(&body).await,
                Some(id) => groups::update(id, &body).await,
            };
            match r {
                Ok(_) => {
                    editor.close();
                    data.reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card form editor" on:submit=submit data-testid="group-editor">
            <h2>{t(editing.title_key("groups-new", "groups-edit"))}</h2>
            <div class="form-grid">
                <TextField label="common-name" name="name" rule=fields::GROUP_NAME value=name />
                <TextField label="common-description" name="description" rule=fields::GROUP_DESCRIPTION value=description />
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
            <FormButtons testid="save-group" on_cancel=move |_| editor.close() />
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
        data.all_users
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
            match groups::add_members(gid, &body).await {
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
