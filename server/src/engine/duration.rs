//! ISO-8601 durations (`P1DT2H30M`, `PT10S`) for timers (cycles: `timers.rs`).

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an ISO-8601 duration like PT10M or P1DT2H")]
pub struct DurationError(pub String);

pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let err = || DurationError(s.to_string());
    let body = s.trim().strip_prefix('P').ok_or_else(err)?;
    if body.is_empty() {
        return Err(err());
    }
    let (date, time) = match body.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, t),
        Some(_) => return Err(err()),
        None => (body, ""),
    };
    let mut secs = 0f64;
    for (part, units) in [
        (date, &[('W', 604_800.0), ('D', 86_400.0)][..]),
        (time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)][..]),
    ] {
        let mut num = String::new();
        let mut last = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let pos = units.iter().position(|(u, _)| *u == c).ok_or_else(err)?;
            if pos < last || num.is_empty() {
                return Err(err());
            }
            last = pos + 1;
            secs += num.parse::<f64>().map_err(|_| err())? * units[pos].1;
            num.clear();
        }
        if !num.is_empty() {
            return Err(err());
        }
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("PT10S").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("PT10M").unwrap(), Duration::from_secs(600));
        assert_eq!(
            parse_duration("P1DT2H30M").unwrap(),
            Duration::from_secs(86_400 + 9_000)
        );
        assert_eq!(
            parse_duration("P2W").unwrap(),
            Duration::from_secs(1_209_600)
        );
        assert_eq!(
            parse_duration("PT0.5S").unwrap(),
            Duration::from_millis(500)
        );
        for bad in ["", "P", "PT", "10S", "PT10", "PT1S2M", "P1H", "PTxS"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
