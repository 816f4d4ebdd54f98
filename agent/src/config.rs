//! The Sub Manager's configuration file (JSON, SPEC §2.3).

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    #[serde(rename = "companyCode")]
    pub company_code: String,
    #[serde(rename = "serverHost")]
    pub server_host: String,
    #[serde(rename = "serverPort")]
    pub server_port: u16,
    #[serde(rename = "http.host", default = "default_http_host")]
    pub http_host: String,
    #[serde(rename = "http.port", default = "default_http_port")]
    pub http_port: u16,
    /// This host's credential, issued by the server with the download (revocable).
    pub credential: String,
    /// Dial `wss://` instead of `ws://` (the server behind HTTPS).
    #[serde(default)]
    pub tls: bool,
}

/// `localhost`, `127.x.y.z`, `::1` (with or without brackets).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn default_http_host() -> String {
    "0.0.0.0".into()
}

fn default_http_port() -> u16 {
    8080
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}: {field} must not be empty")]
    Empty { path: String, field: &'static str },
}

impl AgentConfig {
    pub fn parse(path: &str, text: &str) -> Result<AgentConfig, ConfigError> {
        let c: AgentConfig = serde_json::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        if c.company_code.trim().is_empty() {
            return Err(ConfigError::Empty {
                path: path.into(),
                field: "companyCode",
            });
        }
        if c.server_host.trim().is_empty() {
            return Err(ConfigError::Empty {
                path: path.into(),
                field: "serverHost",
            });
        }
        if c.credential.trim().is_empty() {
            return Err(ConfigError::Empty {
                path: path.into(),
                field: "credential",
            });
        }
        Ok(c)
    }

    /// The line to the server is plaintext (`ws://`) to another machine: tasks and
    /// their secrets cross the network readable.
    pub fn line_is_plaintext_off_machine(&self) -> bool {
        !self.tls && !is_loopback(&self.server_host)
    }

    /// The local page (always plain HTTP) listens beyond this machine: the LWAMS
    /// passwords typed there cross the network readable.
    pub fn page_is_plaintext_off_machine(&self) -> bool {
        self.http_port != 0 && !is_loopback(&self.http_host)
    }

    /// The gateway address the agent dials.
    pub fn gateway_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}:{}/agent", self.server_host, self.server_port)
    }

    pub fn load(path: &str) -> Result<AgentConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Self::parse(path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_format_with_http_defaults() {
        let c = AgentConfig::parse(
            "c.json",
            r#"{"companyCode":"default","serverHost":"lwams.example","serverPort":3000,"credential":"h1.x"}"#,
        )
        .unwrap();
        assert_eq!(c.http_host, "0.0.0.0");
        assert_eq!(c.http_port, 8080);
        let c = AgentConfig::parse(
            "c.json",
            r#"{"companyCode":"a","serverHost":"h","serverPort":1,"http.host":"127.0.0.1","http.port":9090,"credential":"h1.x","tls":true}"#,
        )
        .unwrap();
        assert_eq!(c.http_port, 9090);
        assert_eq!(c.gateway_url(), "wss://h:1/agent");
        assert!(!c.line_is_plaintext_off_machine(), "wss");
        assert!(!c.page_is_plaintext_off_machine(), "the page on 127.0.0.1");
    }

    #[test]
    fn plaintext_off_this_machine_is_told_apart_from_loopback() {
        let c: AgentConfig = serde_json::from_str(
            r#"{"companyCode":"a","serverHost":"10.0.0.9","serverPort":80,"credential":"h1.x"}"#,
        )
        .unwrap();
        assert!(c.line_is_plaintext_off_machine());
        assert!(
            c.page_is_plaintext_off_machine(),
            "the page listens on 0.0.0.0"
        );
        for h in ["localhost", "127.0.0.1", "127.3.2.1", "::1", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["10.0.0.9", "0.0.0.0", "lwams.example"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let e = AgentConfig::parse(
            "c.json",
            r#"{"companyCode":"","serverHost":"h","serverPort":1,"credential":"c"}"#,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "c.json: companyCode must not be empty");
        let e = AgentConfig::parse("c.json", r#"{"serverHost":"h","serverPort":1}"#).unwrap_err();
        assert!(e.to_string().contains("companyCode"));
    }
}
