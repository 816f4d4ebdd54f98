//! The signed-in user (`Me`) as app-wide context, loaded after hydration.

use crate::api;
use crate::i18n::I18n;
use leptos::prelude::*;
use shared::dto::auth::Me;
use shared::{Function, Level};

#[derive(Clone, Copy)]
pub struct Session {
    /// `None` until loaded or when signed out.
    pub me: RwSignal<Option<Me>>,
    /// True once `/auth/me` has answered (with a user or 401).
    pub checked: RwSignal<bool>,
    i18n: I18n,
}

impl Session {
    pub fn can(&self, f: Function, level: Level) -> bool {
        self.me.with(|m| {
            m.as_ref()
                .map(|m| m.permissions.allows(f, level))
                .unwrap_or(false)
        })
    }

    /// The user manages every company (System › Companies).
    pub fn is_platform_operator(&self) -> bool {
        self.me
            .with(|m| m.as_ref().is_some_and(|m| m.platform_operator))
    }

    /// Records a signed-in user and adopts its language.
    pub fn set(&self, me: Me) {
        api::set_csrf(&me.csrf_token);
        self.i18n.locale.set(me.locale);
        self.me.set(Some(me));
        self.checked.set(true);
    }
}

pub fn provide_session(i18n: I18n) -> Session {
    let s = Session {
        me: RwSignal::new(None),
        checked: RwSignal::new(false),
        i18n,
    };
    provide_context(s);
    s
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}
