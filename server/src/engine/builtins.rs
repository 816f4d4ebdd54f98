//! The built-in variables of SPEC §8.1 that a run knows at its start. Dates and times
//! (UTC) come from `shared::datetime`.

use serde_json::{json, Map, Value};
use shared::dto::Id;

/// Who started an instance.
#[derive(Debug, Clone, Default)]
pub struct Initiator {
    pub id: Option<Id>,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub mobile: String,
}

pub use shared::datetime::{date, datetime, time};

/// `LWAMS_INITIATOR_*`, `LWAMS_INIT_DATE/TIME`, `LWAMS_PROCESS_DEFINITION_ID`,
/// `LWAMS_PROCESS_START_WAY`; `LWAMS_PROCESS_START_QUEUE(_ID)` (the schedule that
/// started it: empty until schedules exist) and `LWAMS_STATUSMODIFIER_ID` (who last
/// paused or resumed it: set by the runtime) start empty, so flows may name them.
pub fn at_start(
    who: &Initiator,
    definition_id: Id,
    start_way: &str,
    now_millis: i64,
) -> Map<String, Value> {
    let v = json!({
        "LWAMS_INITIATOR_ID": who.id,
        "LWAMS_INITIATOR_NAME": who.name,
        "LWAMS_INITIATOR_PHONE": who.phone,
        "LWAMS_INITIATOR_EMAIL": who.email,
        "LWAMS_INITIATOR_MOBILE": who.mobile,
        "LWAMS_INIT_DATE": date(now_millis),
        "LWAMS_INIT_TIME": time(now_millis),
        "LWAMS_PROCESS_DEFINITION_ID": definition_id,
        "LWAMS_PROCESS_START_WAY": start_way,
        "LWAMS_PROCESS_START_QUEUE": "",
        "LWAMS_PROCESS_START_QUEUE_ID": null,
        "LWAMS_STATUSMODIFIER_ID": null,
    });
    v.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_variables_name_the_initiator_and_the_start_way() {
        let who = Initiator {
            id: Some(7),
            name: "Ops".into(),
            ..Default::default()
        };
        let v = at_start(&who, 3, "manual", 0);
        assert_eq!(v["LWAMS_INITIATOR_ID"], 7);
        assert_eq!(v["LWAMS_INITIATOR_NAME"], "Ops");
        assert_eq!(v["LWAMS_PROCESS_DEFINITION_ID"], 3);
        assert_eq!(v["LWAMS_PROCESS_START_WAY"], "manual");
        assert_eq!(v["LWAMS_INIT_DATE"], "1970-01-01");
        assert_eq!(v["LWAMS_PROCESS_START_QUEUE"], "");
        assert!(v["LWAMS_STATUSMODIFIER_ID"].is_null());
    }
}
