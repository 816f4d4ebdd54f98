//! The built-in variables of SPEC §8.1 that a run knows at its start, and the date
//! and time formats used for them and for node parameters (`createDate`, …). UTC.

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

/// (year, month, day, hour, minute, second) of Unix milliseconds, UTC.
fn civil(millis: i64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = millis.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-from-civil, inverted.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

pub fn date(millis: i64) -> String {
    let (y, m, d, ..) = civil(millis);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn time(millis: i64) -> String {
    let (.., h, mi, s) = civil(millis);
    format!("{h:02}:{mi:02}:{s:02}")
}

pub fn datetime(millis: i64) -> String {
    format!("{} {}", date(millis), time(millis))
}

/// `LWAMS_INITIATOR_*`, `LWAMS_INIT_DATE/TIME`, `LWAMS_PROCESS_DEFINITION_ID`,
/// `LWAMS_PROCESS_START_WAY`.
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
    });
    v.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_utc_calendar_values() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        // 2026-11-25 13:07:38 UTC
        assert_eq!(datetime(1_795_612_058_000), "2026-11-25 13:07:38");
        // A leap day.
        assert_eq!(date(951_782_400_000), "2000-02-29");
    }

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
    }
}
