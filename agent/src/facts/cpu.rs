//! The processor's signature (SPEC §8.2 `host.cpuFamily`, `cpuStepping`,
//! `cpuIdentifier`, `processorID`): from the CPUID instruction on x86-64 (every OS, as
//! Windows' `PROCESSOR_IDENTIFIER` and WMI's `ProcessorId` say it), else from
//! `/proc/cpuinfo` on Linux (ARM: architecture, part, variant, revision).

/// What is known of the processor's signature; `None` fields are left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Signature {
    pub family: Option<String>,
    pub stepping: Option<String>,
    pub identifier: Option<String>,
    /// WMI's `Win32_Processor.ProcessorId`: CPUID leaf 1's EDX then EAX, in hex.
    pub processor_id: Option<String>,
}

/// Reads the signature of the processor this runs on.
pub fn read() -> Signature {
    #[cfg(target_arch = "x86_64")]
    {
        cpuid()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::fs::read_to_string("/proc/cpuinfo")
            .map(|text| from_cpuinfo(&text))
            .unwrap_or_default()
    }
}

#[cfg(target_arch = "x86_64")]
fn cpuid() -> Signature {
    use std::arch::x86_64::__cpuid;
    // CPUID exists on every x86-64 processor; leaves 0 and 1 always.
    #[allow(unused_unsafe)]
    let (leaf0, leaf1) = unsafe { (__cpuid(0), __cpuid(1)) };
    let mut vendor = Vec::with_capacity(12);
    for r in [leaf0.ebx, leaf0.edx, leaf0.ecx] {
        vendor.extend_from_slice(&r.to_le_bytes());
    }
    from_cpuid(&String::from_utf8_lossy(&vendor), leaf1.eax, leaf1.edx)
}

/// The signature from CPUID leaf 1 (`eax`: stepping, model, family and their
/// extensions; `edx`: feature flags) and the vendor string of leaf 0.
pub fn from_cpuid(vendor: &str, eax: u32, edx: u32) -> Signature {
    let stepping = eax & 0xF;
    let base_model = (eax >> 4) & 0xF;
    let base_family = (eax >> 8) & 0xF;
    let ext_model = (eax >> 16) & 0xF;
    let ext_family = (eax >> 20) & 0xFF;
    let family = if base_family == 0xF {
        base_family + ext_family
    } else {
        base_family
    };
    let model = if base_family == 0x6 || base_family == 0xF {
        (ext_model << 4) + base_model
    } else {
        base_model
    };
    let prefix = match vendor {
        "GenuineIntel" => "Intel64",
        "AuthenticAMD" | "HygonGenuine" => "AMD64",
        _ => "x86_64",
    };
    Signature {
        family: Some(family.to_string()),
        stepping: Some(stepping.to_string()),
        identifier: Some(format!(
            "{prefix} Family {family} Model {model} Stepping {stepping}"
        )),
        processor_id: Some(format!("{edx:08X}{eax:08X}")),
    }
}

/// The signature from Linux's `/proc/cpuinfo` (its first processor): x86's
/// `cpu family` / `model` / `stepping`, or ARM's `CPU architecture` / `CPU part` /
/// `CPU variant` / `CPU revision`.
pub fn from_cpuinfo(text: &str) -> Signature {
    let field = |name: &str| {
        text.lines()
            .take_while(|l| !l.trim().is_empty())
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
            .filter(|v| !v.is_empty())
    };
    if let Some(family) = field("cpu family") {
        let model = field("model").unwrap_or_default();
        let stepping = field("stepping");
        let vendor = field("vendor_id").unwrap_or_default();
        return Signature {
            identifier: Some(format!(
                "{vendor} Family {family} Model {model} Stepping {}",
                stepping.as_deref().unwrap_or("?")
            )),
            family: Some(family),
            stepping,
            processor_id: None,
        };
    }
    let Some(arch) = field("CPU architecture") else {
        return Signature::default();
    };
    let part = field("CPU part").unwrap_or_default();
    let variant = field("CPU variant").unwrap_or_default();
    let revision = field("CPU revision");
    Signature {
        identifier: Some(format!(
            "ARMv{arch} Implementer {} Part {part} Variant {variant} Revision {}",
            field("CPU implementer").unwrap_or_default(),
            revision.as_deref().unwrap_or("?")
        )),
        family: Some(arch),
        stepping: revision,
        processor_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coffee_lake_signature_reads_as_windows_and_wmi_say_it() {
        // i7-8700: family 6, model 158 (0x9E), stepping 10; WMI ProcessorId BFEBFBFF000906EA.
        let s = from_cpuid("GenuineIntel", 0x0009_06EA, 0xBFEB_FBFF);
        assert_eq!(s.family.as_deref(), Some("6"));
        assert_eq!(s.stepping.as_deref(), Some("10"));
        assert_eq!(
            s.identifier.as_deref(),
            Some("Intel64 Family 6 Model 158 Stepping 10")
        );
        assert_eq!(s.processor_id.as_deref(), Some("BFEBFBFF000906EA"));
    }

    #[test]
    fn an_amd_family_adds_its_extended_family() {
        // Ryzen 5 3600: family 23 (0xF + 8), model 113, stepping 0.
        let s = from_cpuid("AuthenticAMD", 0x0087_0F10, 0x178B_FBFF);
        assert_eq!(
            s.identifier.as_deref(),
            Some("AMD64 Family 23 Model 113 Stepping 0")
        );
    }

    #[test]
    fn proc_cpuinfo_gives_x86_and_arm_signatures() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nstepping\t: 7\n\nprocessor\t: 1\n";
        let s = from_cpuinfo(x86);
        assert_eq!(s.family.as_deref(), Some("6"));
        assert_eq!(s.stepping.as_deref(), Some("7"));
        assert_eq!(
            s.identifier.as_deref(),
            Some("GenuineIntel Family 6 Model 85 Stepping 7")
        );
        let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n";
        let s = from_cpuinfo(arm);
        assert_eq!(s.family.as_deref(), Some("8"));
        assert_eq!(s.stepping.as_deref(), Some("1"));
        assert_eq!(
            s.identifier.as_deref(),
            Some("ARMv8 Implementer 0x41 Part 0xd0c Variant 0x3 Revision 1")
        );
        assert_eq!(from_cpuinfo(""), Signature::default());
    }

    #[test]
    fn this_machine_has_a_signature() {
        let s = read();
        if cfg!(target_arch = "x86_64") {
            assert!(s.processor_id.is_some() && s.identifier.is_some(), "{s:?}");
        }
    }
}
