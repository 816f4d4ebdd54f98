//! Which version of its flow a call activity starts: `lwams:version` names a deployed
//! version by number, or `latest` (also when absent) for the newest at the time of the
//! call. Checked at deploy (`compile.rs`), read when the call starts (`runtime.rs`).

use std::collections::BTreeMap;

/// The version a call activity names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalledVersion {
    /// The newest deployed version when the call starts (a flow of the caller's own
    /// file runs as deployed with it).
    Latest,
    /// Exactly this deployed version.
    Pinned(i64),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("lwams:version {0:?}: expected \"latest\" or a version number (1, 2, …)")]
pub struct BadVersion(pub String);

impl CalledVersion {
    /// Reads `lwams:version` of a call activity's parameters.
    pub fn of(params: &BTreeMap<String, String>) -> Result<Self, BadVersion> {
        Self::parse(params.get("version").map(String::as_str).unwrap_or(""))
    }

    pub fn parse(text: &str) -> Result<Self, BadVersion> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("latest") {
            return Ok(CalledVersion::Latest);
        }
        match t.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(CalledVersion::Pinned(n)),
            _ => Err(BadVersion(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_or_nothing_means_the_newest_version() {
        assert_eq!(CalledVersion::parse(""), Ok(CalledVersion::Latest));
        assert_eq!(CalledVersion::parse("latest"), Ok(CalledVersion::Latest));
        assert_eq!(CalledVersion::parse(" LATEST "), Ok(CalledVersion::Latest));
        assert_eq!(
            CalledVersion::of(&BTreeMap::new()),
            Ok(CalledVersion::Latest)
        );
    }

    #[test]
    fn a_number_pins_that_version() {
        assert_eq!(CalledVersion::parse("3"), Ok(CalledVersion::Pinned(3)));
        let params = BTreeMap::from([("version".to_string(), "1".to_string())]);
        assert_eq!(CalledVersion::of(&params), Ok(CalledVersion::Pinned(1)));
    }

    #[test]
    fn anything_else_is_refused_naming_the_value() {
        for bad in ["0", "-1", "v2", "1.5", "${v}"] {
            let e = CalledVersion::parse(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }
}
