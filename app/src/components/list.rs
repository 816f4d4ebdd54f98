//! The list of a page: search, offset paging with a pager and counts, reload, error.
//! `Paging` is the plain state (tested natively); `use_list` fetches a page whenever
//! the search, the page or a reload asks for it; `ListSearch` and `Pager` show it.

use crate::api::{ApiError, ApiResult};
use crate::components::error_line::ErrorLine;
use crate::i18n::{t, t_args};
use leptos::prelude::*;
use shared::dto::{ListQuery, Page};
use std::future::Future;

/// Rows per page of a list.
pub const PAGE_SIZE: i64 = 50;

/// Where a list stands: the search, the first row shown, the page size and how many
/// rows match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    pub query: String,
    pub offset: i64,
    pub limit: i64,
    pub total: i64,
}

impl Paging {
    pub fn new(limit: i64) -> Self {
        Paging {
            query: String::new(),
            offset: 0,
            limit: limit.clamp(1, ListQuery::MAX_LIMIT),
            total: 0,
        }
    }

    /// A new search starts on the first page; the same search keeps the page.
    pub fn search(&mut self, query: &str) {
        let query = query.trim();
        if query != self.query {
            self.query = query.to_string();
            self.offset = 0;
        }
    }

    /// What to ask the server for.
    pub fn request(&self) -> ListQuery {
        ListQuery {
            q: Some(self.query.clone()).filter(|q| !q.is_empty()),
            offset: Some(self.offset),
            limit: Some(self.limit),
        }
    }

    /// Takes the total of an answer. When the rows shown are gone (the last row of the
    /// last page deleted, a narrower search), moves to the last page there is and says
    /// so: the list must be fetched again.
    pub fn received(&mut self, total: i64) -> bool {
        self.total = total.max(0);
        let last = (self.pages() - 1) * self.limit;
        if self.offset > last {
            self.offset = last;
            return true;
        }
        false
    }

    /// Pages in all (one when the list is empty).
    pub fn pages(&self) -> i64 {
        ((self.total + self.limit - 1) / self.limit).max(1)
    }

    /// The page shown, from 1.
    pub fn page(&self) -> i64 {
        self.offset / self.limit + 1
    }

    pub fn has_previous(&self) -> bool {
        self.offset > 0
    }

    pub fn has_next(&self) -> bool {
        self.offset + self.limit < self.total
    }

    pub fn next(&mut self) {
        if self.has_next() {
            self.offset += self.limit;
        }
    }

    pub fn previous(&mut self) {
        self.offset = (self.offset - self.limit).max(0);
    }

    /// The first and last row shown, from 1 (`(0, 0)` when there are none).
    pub fn shown(&self) -> (i64, i64) {
        if self.total == 0 {
            return (0, 0);
        }
        let first = (self.offset + 1).min(self.total);
        (first, (self.offset + self.limit).min(self.total))
    }
}

/// A list on a page. `Copy`: hand it to the components that show or change it.
pub struct List<T: Send + Sync + 'static> {
    pub items: RwSignal<Vec<T>>,
    pub paging: RwSignal<Paging>,
    pub error: RwSignal<Option<ApiError>>,
    pub loading: RwSignal<bool>,
    /// Whether a page has arrived since the list was made (no "empty" message before).
    pub loaded: RwSignal<bool>,
    version: RwSignal<u32>,
}

impl<T: Send + Sync + 'static> Clone for List<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for List<T> {}

impl<T: Send + Sync + 'static> List<T> {
    /// Fetches the page shown again (after a change).
    pub fn reload(&self) {
        self.version.update(|v| *v = v.wrapping_add(1));
    }

    pub fn search(&self, query: &str) {
        self.paging.update(|p| p.search(query));
    }

    pub fn total(&self) -> Signal<i64> {
        let paging = self.paging;
        Signal::derive(move || paging.with(|p| p.total))
    }
}

/// A list fetched by `fetch` with the page's search and paging, again on every change
/// of either and on `reload`. An answer that arrives after a newer request is dropped.
pub fn use_list<T, F, Fut>(limit: i64, fetch: F) -> List<T>
where
    T: Clone + Send + Sync + 'static,
    F: Fn(ListQuery) -> Fut + 'static,
    Fut: Future<Output = ApiResult<Page<T>>> + 'static,
{
    let list = List {
        items: RwSignal::new(vec![]),
        paging: RwSignal::new(Paging::new(limit)),
        error: RwSignal::new(None),
        loading: RwSignal::new(false),
        loaded: RwSignal::new(false),
        version: RwSignal::new(0),
    };
    let paging = list.paging;
    let request = Memo::new(move |_| paging.with(Paging::request));
    let latest = StoredValue::new(0u64);
    Effect::new(move |_| {
        list.version.track();
        let query = request.get();
        let seq = latest.get_value().wrapping_add(1);
        latest.set_value(seq);
        list.loading.set(true);
        let answer = fetch(query);
        leptos::task::spawn_local(async move {
            let answer = answer.await;
            if latest.get_value() != seq {
                return;
            }
            list.loading.set(false);
            match answer {
                Ok(page) => {
                    let mut again = false;
                    list.paging.update(|p| again = p.received(page.total));
                    if !again {
                        list.items.set(page.items);
                        list.loaded.set(true);
                    }
                    list.error.set(None);
                }
                Err(e) => list.error.set(Some(e)),
            }
        });
    });
    list
}

/// Every item of a list endpoint, page by page (for pickers and name lookups).
pub async fn fetch_all<T, F, Fut>(fetch: F) -> ApiResult<Vec<T>>
where
    F: Fn(ListQuery) -> Fut,
    Fut: Future<Output = ApiResult<Page<T>>>,
{
    let mut all = vec![];
    loop {
        let page = fetch(ListQuery {
            q: None,
            offset: Some(all.len() as i64),
            limit: Some(ListQuery::MAX_LIMIT),
        })
        .await?;
        let got = page.items.len();
        all.extend(page.items);
        if got == 0 || all.len() as i64 >= page.total {
            return Ok(all);
        }
    }
}

/// The search field and "N in all" at the head of a list; Enter searches.
#[component]
pub fn ListSearch<T: Send + Sync + 'static>(testid: &'static str, list: List<T>) -> impl IntoView {
    let text = RwSignal::new(list.paging.with_untracked(|p| p.query.clone()));
    let total = list.total();
    view! {
        <form class="search" on:submit=move |ev| {
            ev.prevent_default();
            list.search(&text.get_untracked());
        }>
            <input type="search" data-testid=testid placeholder=move || t("common-search")() bind:value=text />
        </form>
        <span class="muted">{move || t_args("common-total", vec![("count", total.get().to_string())])()}</span>
    }
}

/// The rows shown of how many, and previous/next when there is more than one page;
/// the list's error under it.
#[component]
pub fn Pager<T: Send + Sync + 'static>(testid: &'static str, list: List<T>) -> impl IntoView {
    let paging = list.paging;
    let label = move || {
        let (first, last, total, page, pages) = paging.with(|p| {
            let (f, l) = p.shown();
            (f, l, p.total, p.page(), p.pages())
        });
        t_args(
            "list-shown",
            vec![
                ("first", first.to_string()),
                ("last", last.to_string()),
                ("total", total.to_string()),
                ("page", page.to_string()),
                ("pages", pages.to_string()),
            ],
        )()
    };
    view! {
        <ErrorLine error=list.error />
        <nav class="pager" data-testid=testid aria-label=move || t("list-pages")()>
            <span class="muted" data-testid="pager-shown">{label}</span>
            <Show when=move || paging.with(|p| p.pages() > 1)>
                <button
                    type="button"
                    data-testid="pager-previous"
                    disabled=move || !paging.with(Paging::has_previous)
                    on:click=move |_| paging.update(Paging::previous)
                >
                    {t("common-previous")}
                </button>
                <button
                    type="button"
                    data-testid="pager-next"
                    disabled=move || !paging.with(Paging::has_next)
                    on:click=move |_| paging.update(Paging::next)
                >
                    {t("common-next")}
                </button>
            </Show>
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64, total: i64) -> Paging {
        Paging {
            query: String::new(),
            offset,
            limit: 20,
            total,
        }
    }

    #[test]
    fn pages_round_up_and_an_empty_list_has_one() {
        assert_eq!(at(0, 0).pages(), 1);
        assert_eq!(at(0, 20).pages(), 1);
        assert_eq!(at(0, 21).pages(), 2);
        assert_eq!(at(40, 57).page(), 3);
    }

    #[test]
    fn next_and_previous_stay_within_the_list() {
        let mut p = at(0, 45);
        assert!(!p.has_previous());
        p.next();
        p.next();
        assert_eq!(p.offset, 40);
        assert!(!p.has_next());
        p.next();
        assert_eq!(p.offset, 40, "no page after the last");
        p.previous();
        assert_eq!(p.offset, 20);
        p.previous();
        p.previous();
        assert_eq!(p.offset, 0);
    }

    #[test]
    fn the_rows_shown_are_counted_from_one() {
        assert_eq!(at(0, 0).shown(), (0, 0));
        assert_eq!(at(0, 7).shown(), (1, 7));
        assert_eq!(at(40, 57).shown(), (41, 57));
    }

    #[test]
    fn a_new_search_goes_back_to_the_first_page_and_the_same_search_does_not() {
        let mut p = at(40, 57);
        p.search("");
        assert_eq!(p.offset, 40);
        p.search(" ops ");
        assert_eq!((p.query.as_str(), p.offset), ("ops", 0));
        p.next();
        p.search("ops");
        assert_eq!(p.offset, 20);
    }

    #[test]
    fn the_request_carries_search_offset_and_limit() {
        let mut p = at(20, 57);
        assert_eq!(
            p.request(),
            ListQuery {
                q: None,
                offset: Some(20),
                limit: Some(20)
            }
        );
        p.search("a b");
        assert_eq!(p.request().q.as_deref(), Some("a b"));
    }

    #[test]
    fn a_page_emptied_by_a_delete_moves_to_the_last_page_there_is() {
        let mut p = at(40, 41);
        assert!(p.received(40), "the only row of page 3 is gone");
        assert_eq!(p.offset, 20);
        assert!(!p.received(40));
        let mut empty = at(20, 21);
        assert!(empty.received(0));
        assert_eq!(empty.offset, 0);
    }

    #[test]
    fn the_page_size_is_within_what_the_server_serves() {
        assert_eq!(Paging::new(0).limit, 1);
        assert_eq!(Paging::new(10_000).limit, ListQuery::MAX_LIMIT);
    }
}
