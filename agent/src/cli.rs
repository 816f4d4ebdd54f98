//! The `sub-manager` command line: `--config FILE` runs the agent, `--help` and
//! `--version` print and exit 0, anything else is a usage error naming what is wrong.

use crate::link::VERSION;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the agent with this configuration file.
    Run {
        config: String,
    },
    Help,
    Version,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsageError {
    #[error("--config needs a file name")]
    MissingConfigFile,
    #[error("no configuration given")]
    NoArguments,
    #[error("unknown argument {0:?}")]
    Unknown(String),
}

/// The usage text `--help` prints (and a usage error follows with).
pub fn usage() -> String {
    format!(
        "sub-manager {VERSION}: the LWAMS Sub Manager agent\n\
         \n\
         Usage: sub-manager --config sub-manager.json\n\
         \n\
         Options:\n\
         \x20 -c, --config FILE  the configuration file (companyCode, serverHost, serverPort,\n\
         \x20                    http.host, http.port, credential); known_hosts is kept beside it\n\
         \x20 -h, --help         print this help and exit\n\
         \x20 -V, --version      print the version and exit\n"
    )
}

/// The version line `--version` prints.
pub fn version_line() -> String {
    format!("sub-manager {VERSION}")
}

/// Reads the arguments (without the program name). `--help` / `--version` win wherever
/// they stand, as is usual.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, UsageError> {
    let args: Vec<String> = args.into_iter().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help);
    }
    if args.iter().any(|a| a == "--version" || a == "-V") {
        return Ok(Command::Version);
    }
    let mut config = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => match it.next() {
                Some(p) if !p.is_empty() => config = Some(p),
                _ => return Err(UsageError::MissingConfigFile),
            },
            _ => match a.strip_prefix("--config=") {
                Some("") => return Err(UsageError::MissingConfigFile),
                Some(p) => config = Some(p.to_string()),
                None => return Err(UsageError::Unknown(a)),
            },
        }
    }
    config
        .map(|config| Command::Run { config })
        .ok_or(UsageError::NoArguments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn help_and_version_are_commands_wherever_they_stand() {
        assert_eq!(parse(args(&["--help"])), Ok(Command::Help));
        assert_eq!(parse(args(&["-h"])), Ok(Command::Help));
        assert_eq!(
            parse(args(&["--config", "x.json", "--help"])),
            Ok(Command::Help)
        );
        assert_eq!(parse(args(&["--version"])), Ok(Command::Version));
        assert_eq!(parse(args(&["-V"])), Ok(Command::Version));
    }

    #[test]
    fn config_is_taken_in_either_spelling() {
        let run = Command::Run {
            config: "a.json".into(),
        };
        assert_eq!(parse(args(&["--config", "a.json"])), Ok(run));
        let run = Command::Run {
            config: "b.json".into(),
        };
        assert_eq!(parse(args(&["--config=b.json"])), Ok(run));
    }

    #[test]
    fn bad_arguments_name_what_is_wrong() {
        assert_eq!(parse(args(&[])), Err(UsageError::NoArguments));
        assert_eq!(
            parse(args(&["--config"])),
            Err(UsageError::MissingConfigFile)
        );
        assert_eq!(
            parse(args(&["--conf", "x"])),
            Err(UsageError::Unknown("--conf".into()))
        );
    }

    #[test]
    fn usage_names_every_option() {
        let u = usage();
        for o in ["--config", "--help", "--version"] {
            assert!(u.contains(o), "{o} missing from\n{u}");
        }
    }
}
