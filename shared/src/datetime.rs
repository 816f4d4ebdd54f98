//! Calendar dates and times (UTC) from Unix milliseconds — one implementation for the
//! engine's built-in variables and the app's tables.

/// (year, month, day, hour, minute, second), UTC.
pub fn civil(millis: i64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = millis.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
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

/// `2026-11-25`
pub fn date(millis: i64) -> String {
    let (y, m, d, ..) = civil(millis);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `13:07:38`
pub fn time(millis: i64) -> String {
    let (.., h, mi, s) = civil(millis);
    format!("{h:02}:{mi:02}:{s:02}")
}

/// `2026-11-25 13:07:38`
pub fn datetime(millis: i64) -> String {
    format!("{} {}", date(millis), time(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_utc_calendar_values() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(1_795_612_058_000), "2026-11-25 13:07:38");
        assert_eq!(date(951_782_400_000), "2000-02-29");
        assert_eq!(datetime(-1000), "1969-12-31 23:59:59");
    }
}
