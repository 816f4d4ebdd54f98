//! "Download Sub Manager": a `.tar.gz` with the agent binary, its configuration for
//! this host (company code, server address and port, the host's credential), start and
//! stop scripts for sh and Windows, a systemd unit and a README.

use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("the Sub Manager binary is not on this server ({0}); build it with `cargo build --release -p agent` or set LWAMS_AGENT_BIN")]
    NoBinary(String),
    #[error("cannot build the package: {0}")]
    Io(#[from] std::io::Error),
}

/// Where this host's agent will find the server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerAddress {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl ServerAddress {
    /// From the `Host` header the browser used (what the agent will most likely reach
    /// too) and whether the request came over HTTPS.
    pub fn from_host_header(host: &str, tls: bool) -> ServerAddress {
        let default_port = if tls { 443 } else { 80 };
        let (name, port) = match host.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || host.starts_with('[') => match p.parse() {
                Ok(p) => (h.to_string(), p),
                Err(_) => (host.to_string(), default_port),
            },
            _ => (host.to_string(), default_port),
        };
        ServerAddress {
            host: name,
            port,
            tls,
        }
    }
}

/// The agent binary: the one configured (`LWAMS_AGENT_BIN`), else `sub-manager`
/// beside the server binary.
pub fn agent_binary(configured: Option<&Path>) -> PathBuf {
    if let Some(p) = configured {
        return p.to_path_buf();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("sub-manager")))
        .unwrap_or_else(|| PathBuf::from("sub-manager"))
}

/// The configuration file as SPEC §2.3 has it, plus the credential.
pub fn config_json(company_code: &str, server: &ServerAddress, credential: &str) -> String {
    let v = json!({
        "companyCode": company_code,
        "serverHost": server.host,
        "serverPort": server.port,
        "http.host": "0.0.0.0",
        "http.port": 8080,
        "credential": credential,
        "tls": server.tls,
    });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

const START_SH: &str = r#"#!/bin/sh
# Starts the LWAMS Sub Manager in the background; its log goes to sub-manager.log.
cd "$(dirname "$0")" || exit 1
if [ -f sub-manager.pid ] && kill -0 "$(cat sub-manager.pid)" 2>/dev/null; then
  echo "Sub Manager is already running (pid $(cat sub-manager.pid))"; exit 0
fi
nohup ./sub-manager --config sub-manager.json >> sub-manager.log 2>&1 &
echo $! > sub-manager.pid
echo "Sub Manager started (pid $!)"
"#;

const STOP_SH: &str = r#"#!/bin/sh
# Stops the Sub Manager started by start.sh.
cd "$(dirname "$0")" || exit 1
[ -f sub-manager.pid ] || { echo "Sub Manager is not running"; exit 0; }
pid="$(cat sub-manager.pid)"
case "$pid" in ''|*[!0-9]*) rm -f sub-manager.pid; exit 1;; esac
kill "$pid" 2>/dev/null && echo "Sub Manager stopped (pid $pid)"
rm -f sub-manager.pid
"#;

const START_BAT: &str = "@echo off\r\nrem Starts the LWAMS Sub Manager (sub-manager.exe, built for Windows) in its own window.\r\ncd /d %~dp0\r\nstart \"LWAMS Sub Manager\" /min sub-manager.exe --config sub-manager.json\r\n";

const STOP_BAT: &str =
    "@echo off\r\nrem Stops the LWAMS Sub Manager.\r\ntaskkill /im sub-manager.exe /f\r\n";

const UNIT: &str = "[Unit]\nDescription=LWAMS Sub Manager\nAfter=network-online.target\nWants=network-online.target\n\n[Service]\nWorkingDirectory=/opt/lwams-sub-manager\nExecStart=/opt/lwams-sub-manager/sub-manager --config /opt/lwams-sub-manager/sub-manager.json\nRestart=always\nRestartSec=5\n\n[Install]\nWantedBy=multi-user.target\n";

fn readme(host_name: &str) -> String {
    format!(
        "LWAMS Sub Manager for host \"{host_name}\"\n\n\
         Linux/macOS:  ./start.sh   (stop: ./stop.sh)\n\
         Windows:      start.bat    (stop: stop.bat; needs sub-manager.exe built for Windows)\n\
         As a service: copy this folder to /opt/lwams-sub-manager, then\n\
         \x20             cp sub-manager.service /etc/systemd/system/ && systemctl enable --now sub-manager\n\n\
         sub-manager.json holds this host's credential: keep it private. Rotating the\n\
         credential in LWAMS (System > Hosts) revokes this copy.\n"
    )
}

/// Builds the archive (all files under `sub-manager/`) around the agent binary at
/// `bin_path`.
pub fn build(host_name: &str, config: &str, bin_path: &Path) -> Result<Vec<u8>, PackageError> {
    let binary = std::fs::read(bin_path)
        .map_err(|_| PackageError::NoBinary(bin_path.display().to_string()))?;
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, mode: u32, data: &[u8]| -> std::io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        );
        h.set_cksum();
        tar.append_data(&mut h, format!("sub-manager/{name}"), data)
    };
    add("sub-manager", 0o755, &binary)?;
    add("sub-manager.json", 0o600, config.as_bytes())?;
    add("start.sh", 0o755, START_SH.as_bytes())?;
    add("stop.sh", 0o755, STOP_SH.as_bytes())?;
    add("start.bat", 0o644, START_BAT.as_bytes())?;
    add("stop.bat", 0o644, STOP_BAT.as_bytes())?;
    add("sub-manager.service", 0o644, UNIT.as_bytes())?;
    add("README.txt", 0o644, readme(host_name).as_bytes())?;
    let gz = tar.into_inner()?;
    Ok(gz.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_address_comes_from_the_host_header() {
        assert_eq!(
            ServerAddress::from_host_header("lwams.example:3000", false),
            ServerAddress {
                host: "lwams.example".into(),
                port: 3000,
                tls: false
            }
        );
        assert_eq!(
            ServerAddress::from_host_header("lwams.example", true).port,
            443
        );
        assert_eq!(
            ServerAddress::from_host_header("[::1]:8080", false).host,
            "[::1]"
        );
    }

    #[test]
    fn the_config_is_the_agents_format() {
        let text = config_json(
            "acme",
            &ServerAddress::from_host_header("h:1", false),
            "h1.x",
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["companyCode"], "acme");
        assert_eq!(v["serverPort"], 1);
        assert_eq!(v["credential"], "h1.x");
        assert_eq!(v["http.port"], 8080);
    }
}
