//! Reusable pieces of the app: the layout shell, page guard, form fields.

pub mod confirm;
pub mod error_line;
pub mod form_buttons;
pub mod guard;
pub mod lang_switch;
pub mod layout;
pub mod search_box;
