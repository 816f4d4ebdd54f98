//! Reusable pieces of the app: the layout shell, page guard, the list and editor of a
//! list page (`list`, `editor`), form fields checked by `shared::validate` (`field`),
//! what pages ask of the browser (`browser`: chosen files, downloads, leave guard).

pub mod browser;
pub mod confirm;
pub mod editor;
pub mod error_line;
pub mod field;
pub mod form_buttons;
pub mod guard;
pub mod lang_switch;
pub mod layout;
pub mod list;
pub mod search_box;
