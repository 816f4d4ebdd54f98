//! The permission model: 15 functions (one per menu page) × none / view / manage.
//! A user's rights are the union (maximum per function) of its groups' matrices.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One function of the product, matching one page of the four menus (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Function {
    FlowEditor,
    FlowMonitor,
    FlowTasks,
    FlowSchedules,
    ReportTemplates,
    ReportData,
    ResourceScripts,
    ResourceDataSources,
    ResourceForms,
    ResourceGlobals,
    SystemCompany,
    SystemUsers,
    SystemHosts,
    SystemHolidays,
    SystemLanguages,
}

/// The four menus of the app shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Menu {
    Flow,
    Report,
    Resource,
    System,
}

impl Menu {
    pub const ALL: [Menu; 4] = [Menu::Flow, Menu::Report, Menu::Resource, Menu::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Menu::Flow => "flow",
            Menu::Report => "report",
            Menu::Resource => "resource",
            Menu::System => "system",
        }
    }

    /// The functions under this menu, in menu order.
    pub fn functions(self) -> impl Iterator<Item = Function> {
        Function::ALL.into_iter().filter(move |f| f.menu() == self)
    }
}

impl Function {
    pub const ALL: [Function; 15] = [
        Function::FlowEditor,
        Function::FlowMonitor,
        Function::FlowTasks,
        Function::FlowSchedules,
        Function::ReportTemplates,
        Function::ReportData,
        Function::ResourceScripts,
        Function::ResourceDataSources,
        Function::ResourceForms,
        Function::ResourceGlobals,
        Function::SystemCompany,
        Function::SystemUsers,
        Function::SystemHosts,
        Function::SystemHolidays,
        Function::SystemLanguages,
    ];

    /// Stable key used in the store, the API and the i18n catalogues (`fn-<key>`).
    pub fn key(self) -> &'static str {
        match self {
            Function::FlowEditor => "flow_editor",
            Function::FlowMonitor => "flow_monitor",
            Function::FlowTasks => "flow_tasks",
            Function::FlowSchedules => "flow_schedules",
            Function::ReportTemplates => "report_templates",
            Function::ReportData => "report_data",
            Function::ResourceScripts => "resource_scripts",
            Function::ResourceDataSources => "resource_data_sources",
            Function::ResourceForms => "resource_forms",
            Function::ResourceGlobals => "resource_globals",
            Function::SystemCompany => "system_company",
            Function::SystemUsers => "system_users",
            Function::SystemHosts => "system_hosts",
            Function::SystemHolidays => "system_holidays",
            Function::SystemLanguages => "system_languages",
        }
    }

    pub fn from_key(key: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.key() == key)
    }

    pub fn menu(self) -> Menu {
        use Function::*;
        match self {
            FlowEditor | FlowMonitor | FlowTasks | FlowSchedules => Menu::Flow,
            ReportTemplates | ReportData => Menu::Report,
            ResourceScripts | ResourceDataSources | ResourceForms | ResourceGlobals => {
                Menu::Resource
            }
            SystemCompany | SystemUsers | SystemHosts | SystemHolidays | SystemLanguages => {
                Menu::System
            }
        }
    }

    /// The app route of the function's page.
    pub fn path(self) -> &'static str {
        match self {
            Function::FlowEditor => "/flow/editor",
            Function::FlowMonitor => "/flow/monitor",
            Function::FlowTasks => "/flow/tasks",
            Function::FlowSchedules => "/flow/schedules",
            Function::ReportTemplates => "/report/templates",
            Function::ReportData => "/report/data",
            Function::ResourceScripts => "/resource/scripts",
            Function::ResourceDataSources => "/resource/data-sources",
            Function::ResourceForms => "/resource/forms",
            Function::ResourceGlobals => "/resource/globals",
            Function::SystemCompany => "/system/company",
            Function::SystemUsers => "/system/users",
            Function::SystemHosts => "/system/hosts",
            Function::SystemHolidays => "/system/holidays",
            Function::SystemLanguages => "/system/languages",
        }
    }
}

/// How much of a function a user may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    None,
    View,
    Manage,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::None, Level::View, Level::Manage];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::View => "view",
            Level::Manage => "manage",
        }
    }

    pub fn from_str_opt(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// A level per function. Functions missing from the map are `none`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PermissionMatrix(pub BTreeMap<Function, Level>);

impl PermissionMatrix {
    /// Every function at `manage` — the administrators' group.
    pub fn full() -> Self {
        Self(
            Function::ALL
                .into_iter()
                .map(|f| (f, Level::Manage))
                .collect(),
        )
    }

    pub fn get(&self, f: Function) -> Level {
        self.0.get(&f).copied().unwrap_or_default()
    }

    pub fn set(&mut self, f: Function, level: Level) {
        if level == Level::None {
            self.0.remove(&f);
        } else {
            self.0.insert(f, level);
        }
    }

    pub fn allows(&self, f: Function, needed: Level) -> bool {
        self.get(f) >= needed
    }

    /// The union of two matrices: the higher level wins per function.
    pub fn union(&self, other: &PermissionMatrix) -> PermissionMatrix {
        let mut out = self.clone();
        for (f, l) in &other.0 {
            if *l > out.get(*f) {
                out.set(*f, *l);
            }
        }
        out
    }

    /// Drop `none` entries so equal matrices compare equal.
    pub fn normalized(mut self) -> Self {
        self.0.retain(|_, l| *l != Level::None);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_fifteen_functions_with_unique_keys_and_paths() {
        let keys: std::collections::BTreeSet<_> = Function::ALL.iter().map(|f| f.key()).collect();
        let paths: std::collections::BTreeSet<_> = Function::ALL.iter().map(|f| f.path()).collect();
        assert_eq!(keys.len(), 15);
        assert_eq!(paths.len(), 15);
        for f in Function::ALL {
            assert_eq!(Function::from_key(f.key()), Some(f));
            assert!(f.path().starts_with(&format!("/{}/", f.menu().as_str())));
        }
    }

    #[test]
    fn union_takes_the_higher_level_per_function() {
        let mut a = PermissionMatrix::default();
        a.set(Function::FlowEditor, Level::View);
        a.set(Function::SystemUsers, Level::Manage);
        let mut b = PermissionMatrix::default();
        b.set(Function::FlowEditor, Level::Manage);
        b.set(Function::ReportData, Level::View);
        let u = a.union(&b);
        assert_eq!(u.get(Function::FlowEditor), Level::Manage);
        assert_eq!(u.get(Function::SystemUsers), Level::Manage);
        assert_eq!(u.get(Function::ReportData), Level::View);
        assert_eq!(u.get(Function::SystemHosts), Level::None);
        assert!(u.allows(Function::ReportData, Level::View));
        assert!(!u.allows(Function::ReportData, Level::Manage));
    }

    #[test]
    fn matrix_serializes_as_a_map_of_snake_case_keys() {
        let mut m = PermissionMatrix::default();
        m.set(Function::ResourceDataSources, Level::Manage);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"resource_data_sources":"manage"}"#);
        let back: PermissionMatrix = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }
}
