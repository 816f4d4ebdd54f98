//! The facts a Sub Manager reports about its machine (SPEC §8.2 `host.*`), read with
//! the `sysinfo` library plus what it does not know, on Linux, Windows and macOS: the
//! processor's signature (`cpu.rs`), the address, gateway and domain (`network.rs`),
//! the maker, model and serial number (`platform.rs`). A fact the OS does not give is
//! left out.

pub mod cpu;
pub mod network;
pub mod platform;

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
    let sig = cpu::read();
    put("cpuFamily", sig.family);
    put("cpuStepping", sig.stepping);
    put("cpuIdentifier", sig.identifier);
    put("processorID", sig.processor_id);
    put("hostAddress", network::host_address());
    put("ipv4DefaultGateway", network::default_gateway());
    let machine = platform::machine();
    put("domainName", network::domain_name());
    put("serialNumber", machine.serial_number);
    put("manufacturer", machine.manufacturer);
    put("model", machine.model);
    put("agentPid", Some(std::process::id().to_string()));
    f
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
        if cfg!(target_arch = "x86_64") {
            for k in ["cpuFamily", "cpuStepping", "cpuIdentifier", "processorID"] {
                assert!(f.contains_key(k), "{k} missing: {f:?}");
            }
        }
    }
}
