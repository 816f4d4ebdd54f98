//! The "basic data" step of a deploy (SPEC §5.1: a flow has a key, name, version,
//! comments and an optional schedule): key (fixed once deployed), name, group and a
//! comment for the version, with the place where a schedule will be linked. Enter
//! deploys, Esc goes back to the diagram.

use crate::i18n::{t, tr};
use leptos::prelude::*;
use shared::dto::flow::FlowAbout;

/// What the operator confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct BasicData {
    pub key: String,
    pub name: String,
    pub about: FlowAbout,
}

impl BasicData {
    /// Refuses a key that cannot be a flow key, an empty name, a too long group or
    /// comment: the message key of the field's label and what is wrong.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        shared::validate::identifier("key", &self.key, 100)
            .map_err(|e| ("editor-key", e.message))?;
        shared::validate::required_text("name", &self.name, 200)
            .map_err(|e| ("common-name", e.message))?;
        self.about.checked().map_err(|e| {
            let label = if e.field == "group" {
                "editor-group"
            } else {
                "editor-comments"
            };
            (label, e.message)
        })?;
        Ok(())
    }
}

/// The dialog, shown while `open` holds the values to start from; `key_fixed` when the
/// flow is deployed already (its key is its identity).
#[component]
pub fn BasicDataDialog(
    open: RwSignal<Option<BasicData>>,
    key_fixed: Signal<bool>,
    on_confirm: Callback<BasicData>,
) -> impl IntoView {
    view! {
        {move || open.get().map(|start| {
            let key = RwSignal::new(start.key.clone());
            let name = RwSignal::new(start.name.clone());
            let group = RwSignal::new(start.about.group.clone());
            let comments = RwSignal::new(start.about.comments.clone());
            let problem = RwSignal::new(None::<String>);
            // The comment is what is usually typed: the cursor starts there.
            let first = NodeRef::<leptos::html::Input>::new();
            #[cfg(feature = "hydrate")]
            Effect::new(move |_| {
                if let Some(input) = first.get() {
                    let _ = input.focus();
                }
            });
            let confirm = move || {
                let data = BasicData {
                    key: key.get_untracked().trim().to_string(),
                    name: name.get_untracked().trim().to_string(),
                    about: FlowAbout {
                        group: group.get_untracked().trim().to_string(),
                        comments: comments.get_untracked().trim().to_string(),
                    },
                };
                match data.check() {
                    Ok(()) => {
                        open.set(None);
                        on_confirm.run(data);
                    }
                    Err((label, why)) => problem.set(Some(format!("{}: {why}", tr(label)))),
                }
            };
            view! {
                <div class="modal-backdrop" on:keydown=move |ev| if ev.key() == "Escape" { open.set(None) }>
                    <form class="card modal" role="dialog" aria-modal="true" data-testid="basic-data"
                        on:submit=move |ev| { ev.prevent_default(); confirm(); }>
                        <h3>{t("editor-basic-data")}</h3>
                        <label>
                            {t("editor-key")} " *"
                            <input name="key" bind:value=key readonly=move || key_fixed.get() autocomplete="off" />
                        </label>
                        <label>
                            {t("common-name")} " *"
                            <input name="name" bind:value=name autocomplete="off" />
                        </label>
                        <label>
                            {t("editor-group")}
                            <input name="group" bind:value=group autocomplete="off" />
                        </label>
                        <label>
                            {t("editor-comments")}
                            <input name="comments" bind:value=comments autocomplete="off" node_ref=first />
                        </label>
                        <fieldset class="placeholder" disabled=true data-testid="schedule-slot">
                            <legend>{t("editor-schedule")}</legend>
                            <p class="muted">{t("editor-schedule-later")}</p>
                        </fieldset>
                        {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
                        <div class="form-buttons">
                            <button type="button" on:click=move |_| open.set(None)>{t("common-cancel")}</button>
                            <button type="submit" class="primary" data-testid="confirm-deploy">{t("editor-deploy")}</button>
                        </div>
                    </form>
                </div>
            }
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(key: &str, name: &str, group: &str) -> BasicData {
        BasicData {
            key: key.into(),
            name: name.into(),
            about: FlowAbout {
                group: group.into(),
                comments: String::new(),
            },
        }
    }

    #[test]
    fn a_key_must_be_usable_as_a_flow_key_and_a_name_is_required() {
        assert!(data("disk-cleanup", "Disk cleanup", "Nightly")
            .check()
            .is_ok());
        assert_eq!(
            data("disk cleanup", "Disk cleanup", "")
                .check()
                .unwrap_err()
                .0,
            "editor-key"
        );
        assert_eq!(
            data("disk-cleanup", " ", "").check().unwrap_err().0,
            "common-name"
        );
        assert_eq!(
            data("disk-cleanup", "x", &"g".repeat(101))
                .check()
                .unwrap_err()
                .0,
            "editor-group"
        );
    }
}
