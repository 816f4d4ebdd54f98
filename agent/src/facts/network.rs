//! The machine's place on the network (SPEC §8.2 `host.hostAddress`,
//! `host.ipv4DefaultGateway`, `host.domainName`): the address it reaches the world
//! from, the default route's gateway and its DNS domain — read from `/proc` and
//! `/etc/resolv.conf` on Linux, `route` / `scutil` on macOS, `route print` and WMI on
//! Windows (`platform.rs`).

use std::net::{Ipv4Addr, UdpSocket};

/// The IPv4 address outgoing traffic leaves from: the source the system picks for the
/// default route (a UDP "connect" sends nothing; it only chooses the route).
pub fn host_address() -> Option<String> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    // TEST-NET-1 (RFC 5737): never a real host, reached through the default route.
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then(|| ip.to_string())
}

/// The default route's IPv4 gateway.
pub fn default_gateway() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let table = std::fs::read_to_string("/proc/net/route").ok()?;
        parse_route_table(&table)
    }
    #[cfg(target_os = "macos")]
    {
        parse_macos_route(&super::platform::run("route", &["-n", "get", "default"])?)
    }
    #[cfg(windows)]
    {
        parse_windows_route_print(&super::platform::run("route", &["print", "-4", "0.0.0.0"])?)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        None
    }
}

/// The DNS domain the machine belongs to.
pub fn domain_name() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_to_string("/etc/resolv.conf")
            .ok()
            .and_then(|t| parse_resolv_conf(&t))
            .or_else(|| {
                // The NIS domain, when one is set.
                std::fs::read_to_string("/proc/sys/kernel/domainname")
                    .ok()
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty() && d != "(none)")
            })
    }
    #[cfg(target_os = "macos")]
    {
        parse_scutil_dns(&super::platform::run("scutil", &["--dns"])?)
    }
    #[cfg(windows)]
    {
        std::env::var("USERDNSDOMAIN")
            .ok()
            .filter(|d| !d.trim().is_empty())
            .or_else(|| super::platform::windows_info().domain.clone())
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        None
    }
}

/// Linux `/proc/net/route`: the gateway of the `00000000` destination, printed by the
/// kernel in host (little-endian) order.
pub fn parse_route_table(table: &str) -> Option<String> {
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 3 || cols[1] != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(cols[2], 16).ok()?;
        Some(Ipv4Addr::from(gw.swap_bytes()).to_string())
    })
}

/// macOS `route -n get default`: the `gateway:` line.
pub fn parse_macos_route(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("gateway:")?.trim();
        v.parse::<Ipv4Addr>().ok().map(|a| a.to_string())
    })
}

/// Windows `route print -4 0.0.0.0`: the first active route to `0.0.0.0/0` whose
/// gateway is an address (not `On-link`).
pub fn parse_windows_route_print(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        match cols.as_slice() {
            ["0.0.0.0", "0.0.0.0", gw, ..] => gw.parse::<Ipv4Addr>().ok().map(|a| a.to_string()),
            _ => None,
        }
    })
}

/// `/etc/resolv.conf`: its `domain`, else the first `search` domain.
pub fn parse_resolv_conf(text: &str) -> Option<String> {
    let word = |key: &str| {
        text.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(key)).then(|| w.next()).flatten()
        })
    };
    word("domain")
        .or_else(|| word("search"))
        .map(|d| d.trim_end_matches('.').to_string())
        .filter(|d| !d.is_empty())
}

/// macOS `scutil --dns`: the first `domain :` or `search domain[0] :` of its resolvers.
pub fn parse_scutil_dns(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        let k = k.trim();
        (k == "domain" || k == "search domain[0]")
            .then(|| v.trim().to_string())
            .filter(|v| !v.is_empty() && v != "local")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_gateway_is_read_in_network_order() {
        let table = "Iface\tDestination\tGateway \tFlags\n\
                     eth0\t0000A8C0\t00000000\t0001\n\
                     eth0\t00000000\t0100A8C0\t0003\n";
        assert_eq!(parse_route_table(table).as_deref(), Some("192.168.0.1"));
        assert_eq!(parse_route_table("Iface\n"), None);
    }

    #[test]
    fn macos_and_windows_route_output_give_the_gateway() {
        let mac = "   route to: default\ndestination: default\n       mask: default\n    gateway: 192.168.1.254\n  interface: en0\n";
        assert_eq!(parse_macos_route(mac).as_deref(), Some("192.168.1.254"));
        let win = "===========================================================================\n\
                   IPv4 Route Table\n\
                   ===========================================================================\n\
                   Active Routes:\n\
                   Network Destination        Netmask          Gateway       Interface  Metric\n\
                   \x20         0.0.0.0          0.0.0.0      10.0.0.1       10.0.0.23     25\n\
                   ===========================================================================\n\
                   Persistent Routes:\n\
                   \x20 None\n";
        assert_eq!(parse_windows_route_print(win).as_deref(), Some("10.0.0.1"));
        let on_link = "          0.0.0.0          0.0.0.0         On-link      10.0.0.23     25\n";
        assert_eq!(parse_windows_route_print(on_link), None);
    }

    #[test]
    fn the_dns_domain_comes_from_resolv_conf_or_scutil() {
        let conf = "# generated\nnameserver 10.0.0.2\nsearch corp.example.com lab.example.com\n";
        assert_eq!(parse_resolv_conf(conf).as_deref(), Some("corp.example.com"));
        let conf = "domain ops.example.org.\nsearch other.example\n";
        assert_eq!(parse_resolv_conf(conf).as_deref(), Some("ops.example.org"));
        assert_eq!(parse_resolv_conf("nameserver 1.1.1.1\n"), None);
        let scutil = "DNS configuration\n\nresolver #1\n  search domain[0] : corp.example.com\n  nameserver[0] : 10.0.0.2\n";
        assert_eq!(
            parse_scutil_dns(scutil).as_deref(),
            Some("corp.example.com")
        );
    }

    #[test]
    fn the_host_address_is_a_real_interface_address_when_there_is_a_route() {
        if let Some(a) = host_address() {
            let ip: Ipv4Addr = a.parse().unwrap();
            assert!(!ip.is_loopback() && !ip.is_unspecified(), "{a}");
        }
    }
}
