//! Flow › Monitor: instances newest first, filtered by flow and status, paged; the
//! selected instance's node runs with output and errors. (The live diagram comes with
//! the rest of issue 3.)

use crate::api::{self, encode, ApiError};
use crate::components::error_line::ErrorLine;
use crate::components::guard::{Guarded, PageTitle};
use crate::i18n::{t, t_args, translate, use_i18n};
use leptos::prelude::*;
use shared::dto::flow::{Instance, InstanceDetail};
use shared::dto::{Id, Page};
use shared::Function;

const PAGE: i64 = 50;
const STATUSES: [&str; 5] = ["running", "paused", "failed", "completed", "terminated"];

#[component]
pub fn MonitorPage() -> impl IntoView {
    view! {
        <Guarded function=Function::FlowMonitor>
            <PageTitle function=Function::FlowMonitor />
            <Monitor />
        </Guarded>
    }
}

/// `12.3 s`, `4 min 5 s`, `2 h 1 min`.
fn duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s < 60 => format!("{:.1} s", ms as f64 / 1000.0),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

pub use shared::datetime::datetime as when;

#[component]
fn Monitor() -> impl IntoView {
    let i18n = use_i18n();
    let status = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let offset = RwSignal::new(0_i64);
    let page = RwSignal::new(Page::<Instance> {
        items: vec![],
        total: 0,
    });
    let error = RwSignal::new(None::<ApiError>);
    let selected = RwSignal::new(None::<Id>);
    let detail = RwSignal::new(None::<InstanceDetail>);

    Effect::new(move |_| {
        let path = format!(
            "/instances?limit={PAGE}&offset={}&status={}&q={}",
            offset.get(),
            encode(&status.get()),
            encode(&query.get())
        );
        leptos::task::spawn_local(async move {
            match api::get::<Page<Instance>>(&path).await {
                Ok(p) => {
                    error.set(None);
                    page.set(p);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    Effect::new(move |_| {
        let Some(id) = selected.get() else { return };
        leptos::task::spawn_local(async move {
            match api::get::<InstanceDetail>(&format!("/instances/{id}")).await {
                Ok(d) => detail.set(Some(d)),
                Err(e) => error.set(Some(e)),
            }
        });
    });

    let status_label = move |s: &str| translate(i18n.locale.get(), &format!("status-{s}"), &[]);

    view! {
        <div class="toolbar">
            <form
                class="search"
                on:submit=move |ev| {
                    ev.prevent_default();
                    offset.set(0);
                    query.set(search.get_untracked());
                }
            >
                <input type="search" data-testid="instance-search" placeholder=move || t("monitor-search")() bind:value=search />
            </form>
            <select
                data-testid="status-filter"
                on:change=move |ev| {
                    offset.set(0);
                    status.set(event_target_value(&ev));
                }
            >
                <option value="">{t("monitor-all-statuses")}</option>
                {STATUSES.into_iter().map(|s| view! { <option value=s>{move || status_label(s)}</option> }).collect_view()}
            </select>
            <span class="muted">{move || t_args("common-total", vec![("count", page.get().total.to_string())])()}</span>
            <span class="spacer"></span>
            <button data-testid="prev-page" aria-label=move || t("common-previous")() disabled=move || { offset.get() == 0 } on:click=move |_| offset.update(|o| *o = (*o - PAGE).max(0))>"‹"</button>
            <button data-testid="next-page" aria-label=move || t("common-next")() disabled=move || { offset.get() + PAGE >= page.get().total } on:click=move |_| offset.update(|o| *o += PAGE)>"›"</button>
        </div>
        <ErrorLine error />
        <div class="table-wrap">
            <table class="grid" data-testid="instances-table">
                <thead>
                    <tr>
                        <th>"#"</th>
                        <th>{t("monitor-flow")}</th>
                        <th>{t("monitor-status")}</th>
                        <th class="hide-phone">{t("monitor-start-way")}</th>
                        <th>{t("monitor-started")}</th>
                        <th class="hide-phone">{t("monitor-duration")}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || page.get().items key=|i| (i.id, i.status.clone()) let:i>
                        {
                            let id = i.id;
                            let status_class = format!("badge status-{}", i.status);
                            let s = i.status.clone();
                            view! {
                                <tr
                                    class="clickable"
                                    class:selected=move || selected.get() == Some(id)
                                    data-instance=id
                                    on:click=move |_| selected.set(Some(id))
                                >
                                    <td>{id}</td>
                                    <td>{format!("{} v{}", i.flow_key, i.flow_version)}</td>
                                    <td><span class=status_class>{move || status_label(&s)}</span></td>
                                    <td class="hide-phone">{i.start_way.clone()}</td>
                                    <td>{when(i.started_at)}</td>
                                    <td class="hide-phone">{i.ended_at.map(|e| duration(e - i.started_at)).unwrap_or_default()}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </div>
        {move || detail.get().map(|d| view! { <InstanceRuns detail=d /> })}
    }
}

#[component]
fn InstanceRuns(detail: InstanceDetail) -> impl IntoView {
    let i18n = use_i18n();
    let title = format!(
        "#{} {} v{}",
        detail.instance.id, detail.instance.flow_key, detail.instance.flow_version
    );
    view! {
        <section class="card" data-testid="instance-detail">
            <h2>{title}</h2>
            <div class="table-wrap">
                <table class="grid">
                    <thead>
                        <tr>
                            <th>{t("monitor-node")}</th>
                            <th>{t("monitor-status")}</th>
                            <th class="hide-phone">{t("monitor-started")}</th>
                            <th>{t("monitor-duration")}</th>
                            <th>{t("monitor-output")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {detail
                            .runs
                            .into_iter()
                            .map(|r| {
                                let status = r.status.clone();
                                let class = format!("badge status-{}", r.status);
                                let shown = r.error.clone().or_else(|| {
                                    r.output.as_deref().and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok()).and_then(|v| {
                                        v.get("stdout").and_then(|s| s.as_str()).map(|s| s.chars().take(200).collect::<String>())
                                    })
                                });
                                view! {
                                    <tr data-node=r.node_id.clone()>
                                        <td>{format!("{} ({})", r.node_id, r.attempt)}</td>
                                        <td><span class=class>{move || translate(i18n.locale.get(), &format!("status-{status}"), &[])}</span></td>
                                        <td class="hide-phone">{when(r.started_at)}</td>
                                        <td>{r.ended_at.map(|e| duration(e - r.started_at)).unwrap_or_default()}</td>
                                        <td><pre class="output">{shown.unwrap_or_default()}</pre></td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_and_times_read_well() {
        assert_eq!(super::duration(12_300), "12.3 s");
        assert_eq!(super::duration(245_000), "4 min 5 s");
        assert_eq!(super::duration(7_260_000), "2 h 1 min");
    }
}
