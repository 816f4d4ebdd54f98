//! The facts a Sub Manager reports about its machine (SPEC §8.2 `host.*`), read with
//! the `sysinfo` library plus the few things it does not know (default gateway,
//! domain, DMI serial/manufacturer/model on Linux).

use shared::dto::host::HostFacts;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

/// Reads the machine's facts now. Anything that cannot be read is left out.
pub fn collect() -> HostFacts {
    let mut f = HostFacts::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
            f.insert(k.to_string(), v);
        }
    };
    put("hostName", System::host_name().ok());
    put("osName", System::name().ok());
    put("osVersion", System::os_version().ok());
    put("systemVersion", System::long_os_version().ok());
    put("kernelVersion", System::kernel_version().ok());
    put("osArch", Some(System::cpu_arch()));
    put(
        "cpuCoreCount",
        System::physical_core_count().ok().map(|n| n.to_string()),
    );
    if let Ok(sys) = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    ) {
        if let Some(cpu) = sys.cpus().first() {
            put("cpuName", Some(cpu.brand().to_string()));
            put("cpuModel", Some(cpu.brand().to_string()));
            put("cpuVendor", Some(cpu.vendor_id().to_string()));
        }
        put("logicalProcessorCount", Some(sys.cpus().len().to_string()));
        put("memoryTotal", Some(sys.total_memory().to_string()));
        put("memoryFree", Some(sys.available_memory().to_string()));
    }
    put(
        "userDir",
        std::env::var("HOME")
            .or_else(|_| std::env::var("USERPROFILE"))
            .ok(),
    );
    put("ipv4DefaultGateway", default_gateway());
    put("domainName", domain_name());
    put("serialNumber", dmi("product_serial"));
    put("manufacturer", dmi("sys_vendor"));
    put("model", dmi("product_name"));
    put("agentPid", Some(std::process::id().to_string()));
    f
}

/// The default route's gateway from `/proc/net/route` (Linux; elsewhere unknown).
fn default_gateway() -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    parse_route_table(&table)
}

fn parse_route_table(table: &str) -> Option<String> {
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 3 || cols[1] != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(cols[2], 16).ok()?;
        // The kernel prints the address in host (little-endian) order.
        Some(std::net::Ipv4Addr::from(gw.swap_bytes()).to_string())
    })
}

fn domain_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/domainname")
        .ok()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty() && d != "(none)")
}

fn dmi(file: &str) -> Option<String> {
    std::fs::read_to_string(format!("/sys/class/dmi/id/{file}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_name_the_machine_and_its_memory() {
        let f = collect();
        assert!(f.contains_key("hostName"), "{f:?}");
        assert!(f["memoryTotal"].parse::<u64>().unwrap() > 0);
        assert!(f.contains_key("osArch"));
    }

    #[test]
    fn the_default_route_gateway_is_read_in_network_order() {
        let table = "Iface\tDestination\tGateway \tFlags\n\
                     eth0\t0000A8C0\t00000000\t0001\n\
                     eth0\t00000000\t0100A8C0\t0003\n";
        assert_eq!(parse_route_table(table).as_deref(), Some("192.168.0.1"));
        assert_eq!(parse_route_table("Iface\n"), None);
    }
}
