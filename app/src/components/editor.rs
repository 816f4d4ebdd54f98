//! The editor of a list page: closed, or open on a new item or an existing one.
//! `Editing` is the plain state (tested natively); `EditorSlot` holds it reactively.

use leptos::prelude::*;

/// What an editor is open on.
#[derive(Debug, Clone, PartialEq)]
pub enum Editing<T> {
    New,
    Existing(T),
}

impl<T> Editing<T> {
    pub fn is_new(&self) -> bool {
        matches!(self, Editing::New)
    }

    /// The item being edited (none for a new one).
    pub fn existing(&self) -> Option<&T> {
        match self {
            Editing::New => None,
            Editing::Existing(t) => Some(t),
        }
    }

    /// The heading's label key: `new` for a new item, `edit` for an existing one.
    pub fn title_key(&self, new: &'static str, edit: &'static str) -> &'static str {
        if self.is_new() {
            new
        } else {
            edit
        }
    }

    /// A field of the item edited, or the value a new item starts with.
    pub fn field<V>(&self, of: impl FnOnce(&T) -> V, new: V) -> V {
        self.existing().map(of).unwrap_or(new)
    }
}

/// The editor of a page: at most one open at a time. `Copy`.
pub struct EditorSlot<T: Send + Sync + 'static> {
    open: RwSignal<Option<Editing<T>>>,
}

impl<T: Send + Sync + 'static> Clone for EditorSlot<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for EditorSlot<T> {}

impl<T: Clone + Send + Sync + 'static> EditorSlot<T> {
    pub fn new() -> Self {
        EditorSlot {
            open: RwSignal::new(None),
        }
    }

    pub fn open_new(&self) {
        self.open.set(Some(Editing::New));
    }

    pub fn open(&self, item: T) {
        self.open.set(Some(Editing::Existing(item)));
    }

    pub fn close(&self) {
        self.open.set(None);
    }

    /// What is open now (tracked).
    pub fn get(&self) -> Option<Editing<T>> {
        self.open.get()
    }
}

impl<T: Clone + Send + Sync + 'static> Default for EditorSlot<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_item_has_no_existing_one_and_starts_with_the_new_values() {
        let e: Editing<(i64, String)> = Editing::New;
        assert!(e.is_new());
        assert_eq!(e.existing(), None);
        assert_eq!(e.title_key("x-new", "x-edit"), "x-new");
        assert_eq!(e.field(|t| t.1.clone(), "blank".into()), "blank");
    }

    #[test]
    fn an_existing_item_gives_its_fields() {
        let e = Editing::Existing((7, "ops".to_string()));
        assert!(!e.is_new());
        assert_eq!(e.existing().map(|t| t.0), Some(7));
        assert_eq!(e.title_key("x-new", "x-edit"), "x-edit");
        assert_eq!(e.field(|t| t.1.clone(), String::new()), "ops");
    }

    #[test]
    fn the_slot_opens_one_editor_at_a_time_and_closes() {
        let owner = Owner::new();
        owner.with(|| {
            let slot = EditorSlot::<String>::new();
            assert_eq!(slot.open.get_untracked(), None);
            slot.open_new();
            assert_eq!(slot.open.get_untracked(), Some(Editing::New));
            slot.open("a".into());
            assert_eq!(
                slot.open.get_untracked(),
                Some(Editing::Existing("a".into()))
            );
            slot.close();
            assert_eq!(slot.open.get_untracked(), None);
        });
    }
}
