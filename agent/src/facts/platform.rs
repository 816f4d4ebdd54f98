//! The machine's maker, model and serial number (SPEC §8.2 `host.manufacturer`,
//! `host.model`, `host.serialNumber`) where the OS exposes them: DMI in `/sys` on
//! Linux, the platform expert device of `ioreg` on macOS, WMI (`Win32_ComputerSystem`,
//! `Win32_BIOS`) through PowerShell on Windows. The ones that need a program are read
//! once per process (they do not change while it runs).

/// Maker, model and serial number; `None` where unknown.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Machine {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    /// Windows: the Active Directory domain when the machine is joined to one.
    pub domain: Option<String>,
}

/// The machine's maker, model and serial number.
pub fn machine() -> Machine {
    #[cfg(target_os = "linux")]
    {
        let dmi = |file: &str| {
            std::fs::read_to_string(format!("/sys/class/dmi/id/{file}"))
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Machine {
            manufacturer: dmi("sys_vendor"),
            model: dmi("product_name"),
            serial_number: dmi("product_serial"),
            domain: None,
        }
    }
    #[cfg(target_os = "macos")]
    {
        static ONCE: std::sync::OnceLock<Machine> = std::sync::OnceLock::new();
        ONCE.get_or_init(|| {
            run("ioreg", &["-rd1", "-c", "IOPlatformExpertDevice"])
                .map(|t| parse_ioreg(&t))
                .unwrap_or_default()
        })
        .clone()
    }
    #[cfg(windows)]
    {
        windows_info().clone()
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        Machine::default()
    }
}

/// Windows: what WMI says of the machine, read once.
#[cfg(windows)]
pub fn windows_info() -> &'static Machine {
    static ONCE: std::sync::OnceLock<Machine> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        run(
            "powershell.exe",
            &["-NoProfile", "-NonInteractive", "-Command", WMI_QUERY],
        )
        .map(|t| parse_wmi_lines(&t))
        .unwrap_or_default()
    })
}

/// PowerShell printing `key=value` lines of the WMI classes that know the machine.
pub const WMI_QUERY: &str = "$c = Get-CimInstance Win32_ComputerSystem; \
    $b = Get-CimInstance Win32_BIOS; \
    'manufacturer=' + $c.Manufacturer; 'model=' + $c.Model; \
    'partOfDomain=' + $c.PartOfDomain; 'domain=' + $c.Domain; \
    'serialNumber=' + $b.SerialNumber";

/// The `key=value` lines of [`WMI_QUERY`]. The domain counts only when the machine is
/// part of one (else WMI names its workgroup).
pub fn parse_wmi_lines(text: &str) -> Machine {
    let get = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key)
                .then(|| v.trim().to_string())
                .filter(|v| !v.is_empty() && !is_placeholder(v))
        })
    };
    Machine {
        manufacturer: get("manufacturer"),
        model: get("model"),
        serial_number: get("serialNumber"),
        domain: get("partOfDomain")
            .filter(|p| p.eq_ignore_ascii_case("true"))
            .and_then(|_| get("domain")),
    }
}

/// macOS `ioreg -rd1 -c IOPlatformExpertDevice`: `"IOPlatformSerialNumber" = "…"`,
/// `"manufacturer" = <"Apple Inc.">`, `"model" = <"MacBookPro16,1">`.
pub fn parse_ioreg(text: &str) -> Machine {
    let get = |key: &str| {
        let quoted = format!("\"{key}\"");
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            if k.trim() != quoted {
                return None;
            }
            let v = v.trim().trim_start_matches('<').trim_end_matches('>');
            let v = v.trim_matches('"').trim_end_matches("\\0").trim();
            (!v.is_empty()).then(|| v.to_string())
        })
    };
    Machine {
        manufacturer: get("manufacturer"),
        model: get("model"),
        serial_number: get("IOPlatformSerialNumber"),
        domain: None,
    }
}

/// Values firmware writes when it knows nothing.
fn is_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    [
        "to be filled by o.e.m.",
        "default string",
        "system serial number",
        "none",
    ]
    .contains(&l.as_str())
}

/// Runs a program for a fact: its standard output when it exits 0 within 10 s.
#[cfg(any(target_os = "macos", windows))]
pub fn run(program: &str, args: &[&str]) -> Option<String> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        cmd.creation_flags(CREATE_NO_WINDOW);
    }
    let mut child = cmd.spawn().ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let out = reader.join().ok()?;
    status
        .success()
        .then(|| String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmi_lines_give_maker_model_serial_and_a_joined_domain_only() {
        let joined = "manufacturer=Dell Inc.\r\nmodel=OptiPlex 7070\r\npartOfDomain=True\r\ndomain=corp.example.com\r\nserialNumber=7XK2L33\r\n";
        assert_eq!(
            parse_wmi_lines(joined),
            Machine {
                manufacturer: Some("Dell Inc.".into()),
                model: Some("OptiPlex 7070".into()),
                serial_number: Some("7XK2L33".into()),
                domain: Some("corp.example.com".into()),
            }
        );
        let workgroup = "manufacturer=QEMU\nmodel=Standard PC\npartOfDomain=False\ndomain=WORKGROUP\nserialNumber=To be filled by O.E.M.\n";
        let m = parse_wmi_lines(workgroup);
        assert_eq!(m.domain, None, "a workgroup is not a domain");
        assert_eq!(m.serial_number, None, "firmware placeholders are left out");
    }

    #[test]
    fn ioreg_gives_maker_model_and_serial() {
        let text = r#"+-o MacBookPro16,1  <class IOPlatformExpertDevice, id 0x100000116>
    {
      "IOPlatformSerialNumber" = "C02ZK0XXMD6T"
      "manufacturer" = <"Apple Inc.">
      "model" = <"MacBookPro16,1">
      "IOPlatformUUID" = "2B1C…"
    }"#;
        assert_eq!(
            parse_ioreg(text),
            Machine {
                manufacturer: Some("Apple Inc.".into()),
                model: Some("MacBookPro16,1".into()),
                serial_number: Some("C02ZK0XXMD6T".into()),
                domain: None,
            }
        );
    }
}
