//! When timers fire: ISO-8601 dates (`2026-12-01T08:00:00Z`, or without a zone: UTC),
//! durations (`PT10M`) and cycles (`R3/PT1H`, `R/2026-12-01T08:00:00Z/P1D`).
//! Catch and boundary timers fire once; a timer start event repeats its cycle.

use super::duration::{parse_duration, DurationError};
use shared::bpmn::model::TimerDef;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimerError {
    #[error("{0:?} is not an ISO-8601 date-time like 2026-12-01T08:00:00Z")]
    Date(String),
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error("{0:?} is not an ISO-8601 cycle like R3/PT1H or R/2026-12-01T08:00:00Z/P1D")]
    Cycle(String),
    #[error("the timer has no date, duration or cycle")]
    Missing,
}

/// Unix milliseconds of an ISO-8601 date-time; UTC when it names no zone.
pub fn parse_date(s: &str) -> Result<i64, TimerError> {
    use time::format_description::well_known::Rfc3339;
    let s = s.trim();
    let err = || TimerError::Date(s.to_string());
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let local = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let short = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let t = time::PrimitiveDateTime::parse(s, &local)
        .or_else(|_| time::PrimitiveDateTime::parse(s, &short))
        .map_err(|_| err())?;
    Ok((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A cycle: how many times (`None`: without end), from when, how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub repetitions: Option<u32>,
    pub start: Option<i64>,
    pub interval: Duration,
}

pub fn parse_cycle(s: &str) -> Result<Cycle, TimerError> {
    let err = || TimerError::Cycle(s.to_string());
    let mut parts = s.trim().split('/');
    let reps = parts
        .next()
        .and_then(|r| r.strip_prefix('R'))
        .ok_or_else(err)?;
    let repetitions = if reps.is_empty() {
        None
    } else {
        Some(reps.parse().map_err(|_| err())?)
    };
    let rest: Vec<&str> = parts.collect();
    let (start, interval) = match rest.as_slice() {
        [d] => (None, parse_duration(d)?),
        [start, d] => (Some(parse_date(start)?), parse_duration(d)?),
        _ => return Err(err()),
    };
    if interval.is_zero() {
        return Err(err());
    }
    Ok(Cycle {
        repetitions,
        start,
        interval,
    })
}

fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

/// When a catch or boundary timer entered at `now` fires (once).
pub fn fire_at(def: &TimerDef, now: i64) -> Result<i64, TimerError> {
    match def {
        TimerDef::Date(d) => parse_date(d),
        TimerDef::Duration(d) => Ok(now.saturating_add(millis(parse_duration(d)?))),
        TimerDef::Cycle(c) => {
            let c = parse_cycle(c)?;
            let first = c.start.unwrap_or(now.saturating_add(millis(c.interval)));
            Ok(first.max(now))
        }
        TimerDef::Missing => Err(TimerError::Missing),
    }
}

/// A timer start event: the `n`-th start (0-based) of a flow deployed at `deployed`,
/// or `None` when its schedule has ended.
pub fn start_at(def: &TimerDef, deployed: i64, n: u32) -> Result<Option<i64>, TimerError> {
    match def {
        TimerDef::Date(_) | TimerDef::Duration(_) => {
            Ok((n == 0).then_some(fire_at(def, deployed)?))
        }
        TimerDef::Cycle(c) => {
            let c = parse_cycle(c)?;
            if c.repetitions.is_some_and(|r| n >= r) {
                return Ok(None);
            }
            let step = millis(c.interval);
            Ok(Some(match c.start {
                Some(s) => s.saturating_add(step.saturating_mul(i64::from(n))),
                None => deployed.saturating_add(step.saturating_mul(i64::from(n) + 1)),
            }))
        }
        TimerDef::Missing => Err(TimerError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_parse() {
        let c = parse_cycle("R3/PT10S").unwrap();
        assert_eq!(
            (c.repetitions, c.interval),
            (Some(3), Duration::from_secs(10))
        );
        let c = parse_cycle("R/PT1M").unwrap();
        assert_eq!((c.repetitions, c.interval), (None, Duration::from_secs(60)));
        assert!(parse_cycle("PT1M").is_err());
    }

    #[test]
    fn dates_parse_with_a_zone_or_as_utc() {
        assert_eq!(parse_date("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_date("1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert_eq!(parse_date("1970-01-01T00:01:00").unwrap(), 60_000);
        assert_eq!(parse_date("1970-01-01T00:01").unwrap(), 60_000);
        assert!(parse_date("tomorrow").is_err());
    }

    #[test]
    fn catch_timers_fire_once_after_their_duration_or_at_their_date() {
        let now = 1_000_000;
        assert_eq!(
            fire_at(&TimerDef::Duration("PT10S".into()), now).unwrap(),
            now + 10_000
        );
        assert_eq!(
            fire_at(&TimerDef::Date("1970-01-01T00:00:05Z".into()), now).unwrap(),
            5_000
        );
        assert_eq!(
            fire_at(&TimerDef::Cycle("R3/PT1S".into()), now).unwrap(),
            now + 1_000
        );
        assert!(matches!(
            fire_at(&TimerDef::Missing, now),
            Err(TimerError::Missing)
        ));
        assert!(fire_at(&TimerDef::Cycle("R3/PT0S".into()), now).is_err());
    }

    #[test]
    fn a_start_cycle_repeats_its_count_from_its_start() {
        let def = TimerDef::Cycle("R2/1970-01-01T00:00:10Z/PT5S".into());
        assert_eq!(start_at(&def, 0, 0).unwrap(), Some(10_000));
        assert_eq!(start_at(&def, 0, 1).unwrap(), Some(15_000));
        assert_eq!(start_at(&def, 0, 2).unwrap(), None);
        let endless = TimerDef::Cycle("R/PT1M".into());
        assert_eq!(start_at(&endless, 0, 99).unwrap(), Some(6_000_000));
        let once = TimerDef::Duration("PT1S".into());
        assert_eq!(start_at(&once, 0, 0).unwrap(), Some(1_000));
        assert_eq!(start_at(&once, 0, 1).unwrap(), None);
    }
}
