//! The egress policy: where the server connects on behalf of a company it does not
//! trust (see `trust`). In-cloud HTTP and SQL steps and data-source connection tests of
//! such companies may not reach loopback, unspecified, link-local (cloud metadata
//! included), private, shared (CGNAT), unique-local, multicast, broadcast or reserved
//! addresses — nor their IPv4-mapped IPv6 forms — nor the server's own listen address,
//! unless the operator allows the address, its network or the host name
//! (`egress_allow`, `LWAMS_EGRESS_ALLOW`).
//!
//! Names are checked on what they resolve to, every address of them, and the connection
//! goes to the addresses checked: HTTP through a reqwest client whose resolver applies
//! the policy (and whose redirect policy checks the literal addresses that resolver
//! never sees), SQL pinned to the checked address.

use crate::config::{Config, ConfigError};
use agent::executors::http::{self as http_exec, HttpError, Refused};
use agent::executors::sql::{self as sql_exec, Endpoint};
use agent::executors::task::{http_outcome, run_service_pinned, sql_outcome};
use shared::agent::{FailureCode, HttpRequest, SqlConnect, TaskOutcome, TaskSpec};
use shared::dto::data_source::DataSourceKind;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Redirects an HTTP step follows at most (reqwest's default).
const MAX_REDIRECTS: usize = 10;

/// Why an address is not for untrusted companies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    Loopback,
    Unspecified,
    LinkLocal,
    Private,
    /// 100.64.0.0/10, carrier-grade NAT.
    Shared,
    /// fc00::/7 (and the deprecated site-local fec0::/10).
    UniqueLocal,
    Multicast,
    Broadcast,
    /// 240.0.0.0/4.
    Reserved,
    /// The address the LWAMS server listens on.
    Own,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Forbidden::Loopback => "a loopback address",
            Forbidden::Unspecified => "an unspecified address",
            Forbidden::LinkLocal => "a link-local address",
            Forbidden::Private => "a private address",
            Forbidden::Shared => "a shared (carrier-grade NAT) address",
            Forbidden::UniqueLocal => "a unique local (private) IPv6 address",
            Forbidden::Multicast => "a multicast address",
            Forbidden::Broadcast => "a broadcast address",
            Forbidden::Reserved => "a reserved address",
            Forbidden::Own => "the LWAMS server's own address",
        })
    }
}

/// Why `ip` is not for untrusted companies, by its range alone (IPv6 forms of IPv4
/// addresses — mapped, compatible, NAT64 — are judged as the IPv4 address).
pub fn classify(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Forbidden> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip.is_loopback() => Forbidden::Loopback,
        // 0.0.0.0/8 "this network": 0.0.0.0 connects to the machine itself.
        _ if a == 0 => Forbidden::Unspecified,
        _ if ip.is_link_local() => Forbidden::LinkLocal,
        _ if ip.is_private() => Forbidden::Private,
        _ if a == 100 && (64..128).contains(&b) => Forbidden::Shared,
        _ if ip.is_multicast() => Forbidden::Multicast,
        _ if ip.is_broadcast() => Forbidden::Broadcast,
        _ if a >= 240 => Forbidden::Reserved,
        _ => return None,
    })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Forbidden> {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let first = ip.segments()[0];
    Some(match () {
        _ if ip.is_loopback() => Forbidden::Loopback,
        _ if ip.is_unspecified() => Forbidden::Unspecified,
        _ if first & 0xffc0 == 0xfe80 => Forbidden::LinkLocal,
        _ if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 => Forbidden::UniqueLocal,
        _ if ip.is_multicast() => Forbidden::Multicast,
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`, not `::` or `::1`) and NAT64 (`64:ff9b::a.b.c.d`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    None
}

/// An address refused, and the name it was reached by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The host name that resolved to `addr` (`None`: `addr` was given as such).
    pub name: Option<String>,
    pub addr: IpAddr,
    pub why: Forbidden,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} resolves to {}, {}", self.addr, self.why),
            None => write!(f, "{} is {}", self.addr, self.why),
        }
    }
}

/// What the server refuses to do for an untrusted company.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    #[error(
        "{what}: {refusal}; the server does not connect there for company {company} \
         (ask the platform operator to allow it with LWAMS_EGRESS_ALLOW)"
    )]
    Refused {
        what: &'static str,
        refusal: String,
        company: String,
    },
    #[error("{what}: cannot resolve {host}: {reason}")]
    Resolve {
        what: &'static str,
        host: String,
        reason: String,
    },
    #[error(
        "data source {0} is a file on the LWAMS server; only the platform operator's \
         company may use it in cloud"
    )]
    ServerFile(String),
    #[error(
        "sql: {url} names a file on the LWAMS server ({detail}); only the platform \
         operator's company may use it in cloud (or run the step on a host)"
    )]
    ServerPath { url: String, detail: String },
    #[error("http: the client cannot be built: {0}")]
    Client(String),
}

/// An IP network of the allow list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn parse(entry: &str) -> Option<Result<Net, String>> {
        let (addr, prefix) = match entry.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry, None),
        };
        let addr: IpAddr = match addr.trim_start_matches('[').trim_end_matches(']').parse() {
            Ok(a) => a,
            Err(_) if prefix.is_some() => {
                return Some(Err(format!("{addr:?} is not an IP address")))
            }
            Err(_) => return None,
        };
        let addr = addr.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= bits => p,
                _ => return Some(Err(format!("/{p} is not a prefix length from 0 to {bits}"))),
            },
        };
        Some(Ok(Net { addr, prefix }))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A host name as compared: lower case, without a trailing dot.
fn name_key(name: &str) -> String {
    name.trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The allow list and the server's own addresses.
#[derive(Debug)]
struct Rules {
    nets: Vec<Net>,
    names: Vec<String>,
    own: Vec<IpAddr>,
}

impl Rules {
    fn check(&self, name: Option<&str>, addr: IpAddr) -> Result<(), Refusal> {
        if name.is_some_and(|n| self.names.contains(&name_key(n))) {
            return Ok(());
        }
        let ip = addr.to_canonical();
        if self.nets.iter().any(|n| n.contains(ip)) {
            return Ok(());
        }
        // The range first: "a loopback address" says more than "the server's own".
        let why = classify(ip).or_else(|| self.own.contains(&ip).then_some(Forbidden::Own));
        match why {
            None => Ok(()),
            Some(why) => Err(Refusal {
                name: name.map(str::to_string),
                addr,
                why,
            }),
        }
    }
}

/// The policy (cheap to clone): built once at start from the configuration.
#[derive(Clone)]
pub struct EgressPolicy {
    rules: Arc<Rules>,
    /// The HTTP clients applying it: verifying TLS, and not.
    clients: Arc<[OnceLock<reqwest::Client>; 2]>,
}

impl fmt::Debug for EgressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EgressPolicy")
            .field("rules", &self.rules)
            .finish()
    }
}

impl EgressPolicy {
    /// The policy of `config`: its allow list (a bad entry is an error naming it) and
    /// its listen address (when it is unspecified, every address of this machine).
    pub fn new(config: &Config) -> Result<EgressPolicy, ConfigError> {
        let own = if config.listen.ip().is_unspecified() {
            local_addresses()
        } else {
            vec![config.listen.ip().to_canonical()]
        };
        EgressPolicy::with(&config.egress_allow, own)
    }

    fn with(allow: &[String], own: Vec<IpAddr>) -> Result<EgressPolicy, ConfigError> {
        let mut nets = Vec::new();
        let mut names = Vec::new();
        for entry in allow.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let bad = |why: String| ConfigError::Invalid {
                var: "LWAMS_EGRESS_ALLOW (egress_allow)",
                message: format!("{entry:?}: {why}"),
            };
            match Net::parse(entry) {
                Some(Ok(net)) => nets.push(net),
                Some(Err(why)) => return Err(bad(why)),
                None if is_host_name(&name_key(entry)) => names.push(name_key(entry)),
                None => {
                    return Err(bad(
                        "is neither an IP address, a CIDR network (10.0.0.0/8) nor a host name"
                            .into(),
                    ))
                }
            }
        }
        Ok(EgressPolicy {
            rules: Arc::new(Rules { nets, names, own }),
            clients: Arc::new([OnceLock::new(), OnceLock::new()]),
        })
    }

    /// Whether the server may connect to `addr`, reached by `name` (the host name it was
    /// resolved from, if any), for an untrusted company.
    pub fn check(&self, name: Option<&str>, addr: IpAddr) -> Result<(), Refusal> {
        self.rules.check(name, addr)
    }

    /// Resolves `host` (a name or a literal address) and checks every address it has.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
        resolve(&self.rules, host, port).await
    }

    /// The HTTP client for untrusted companies' steps (shared, like the agent's): its
    /// resolver applies the policy, its redirects are checked, and it never goes
    /// through a proxy (which would resolve names beyond the policy).
    pub fn http_client(&self, verify_tls: bool) -> Result<&reqwest::Client, EgressError> {
        let cell = &self.clients[usize::from(!verify_tls)];
        if let Some(c) = cell.get() {
            return Ok(c);
        }
        let rules = self.rules.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            // Names go through the resolver; literal addresses never do.
            match literal_ip(attempt.url()).map(|ip| rules.check(None, ip)) {
                Some(Err(refusal)) => {
                    let why = format!("{refusal} (the redirect to {})", attempt.url());
                    attempt.error(Refused(why))
                }
                _ => attempt.follow(),
            }
        });
        let client = http_exec::client_builder(verify_tls)
            .no_proxy()
            .redirect(redirects)
            .dns_resolver(Arc::new(PolicyResolver(self.rules.clone())))
            .build()
            .map_err(|e| EgressError::Client(e.to_string()))?;
        Ok(cell.get_or_init(|| client))
    }

    /// Runs an HTTP or SQL task "in cloud" for an untrusted company (`company` is its
    /// code, for messages); every other task is refused.
    pub async fn run_service(
        &self,
        company: &str,
        spec: &TaskSpec,
        cancel: impl std::future::Future<Output = ()>,
    ) -> TaskOutcome {
        match spec {
            TaskSpec::Http {
                request,
                timeout_secs,
            } => {
                let timeout = Duration::from_secs((*timeout_secs).max(1));
                self.http(company, request, timeout, cancel).await
            }
            TaskSpec::Sql {
                database,
                timeout_secs,
                ..
            } => {
                let timeout = Duration::from_secs((*timeout_secs).max(1));
                tokio::pin!(cancel);
                let pin = tokio::select! {
                    r = tokio::time::timeout(timeout, self.sql_address(company, database)) => match r {
                        Ok(Ok(pin)) => pin,
                        Ok(Err(e)) => return failed(&e, FailureCode::Other),
                        Err(_) => return sql_outcome(Err(sql_exec::SqlError::Timeout(timeout))),
                    },
                    _ = &mut cancel => return sql_outcome(Err(sql_exec::SqlError::Cancelled)),
                };
                run_service_pinned(spec, Some(pin), cancel).await
            }
            other => failed(
                &super::trust::not_on_server(&other.describe()),
                FailureCode::Other,
            ),
        }
    }

    async fn http(
        &self,
        company: &str,
        request: &HttpRequest,
        timeout: Duration,
        cancel: impl std::future::Future<Output = ()>,
    ) -> TaskOutcome {
        let refused = |refusal: String| EgressError::Refused {
            what: "http",
            refusal,
            company: company.to_string(),
        };
        // A literal address never reaches the resolver. (A URL that does not parse is
        // left for the executor to report.)
        if let Ok(url) = reqwest::Url::parse(request.url.trim()) {
            if let Some(Err(r)) = literal_ip(&url).map(|ip| self.check(None, ip)) {
                return failed(&refused(r.to_string()), FailureCode::Other);
            }
        }
        let client = match self.http_client(request.verify_tls) {
            Ok(c) => c,
            Err(e) => return failed(&e, FailureCode::Other),
        };
        match http_exec::run_with(client, request, timeout, cancel).await {
            Err(HttpError::Refused(why)) => failed(&refused(why), FailureCode::Other),
            other => http_outcome(other),
        }
    }

    /// The address an untrusted company's in-cloud SQL connects to, checked.
    pub async fn sql_address(
        &self,
        company: &str,
        database: &SqlConnect,
    ) -> Result<IpAddr, EgressError> {
        let shown = database.url.clone();
        if database.kind == DataSourceKind::Sqlite {
            return Err(EgressError::ServerFile(shown));
        }
        let files = sql_exec::file_parameters(database);
        if !files.is_empty() {
            return Err(EgressError::ServerPath {
                url: shown,
                detail: files.join(", "),
            });
        }
        let endpoint = sql_exec::endpoint(database).map_err(|e| EgressError::Resolve {
            what: "sql",
            host: shown.clone(),
            reason: e.to_string(),
        })?;
        let (host, port) = match endpoint {
            Endpoint::Tcp { host, port } => (host, port),
            Endpoint::File(_) => return Err(EgressError::ServerFile(shown)),
            Endpoint::Socket(path) => {
                return Err(EgressError::ServerPath {
                    url: shown,
                    detail: format!("the socket {path}"),
                })
            }
        };
        match self.resolve(&host, port).await {
            Ok(addrs) => addrs.first().map(|a| a.ip()).ok_or(EgressError::Resolve {
                what: "sql",
                host,
                reason: "no address".into(),
            }),
            Err(ResolveError::Refused(r)) => Err(EgressError::Refused {
                what: "sql",
                refusal: r.to_string(),
                company: company.to_string(),
            }),
            Err(ResolveError::Lookup(reason)) => Err(EgressError::Resolve {
                what: "sql",
                host,
                reason,
            }),
        }
    }
}

/// Why a name did not resolve to addresses the policy allows.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Lookup(String),
}

async fn resolve(rules: &Rules, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        rules.check(None, ip).map_err(ResolveError::Refused)?;
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| ResolveError::Lookup(e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(ResolveError::Lookup("no address".into()));
    }
    for a in &addrs {
        rules
            .check(Some(bare), a.ip())
            .map_err(ResolveError::Refused)?;
    }
    Ok(addrs)
}

/// reqwest's resolver for untrusted companies: every address a name resolves to must
/// be allowed, and the connection goes to those addresses.
struct PolicyResolver(Arc<Rules>);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.0.clone();
        let name = name.as_str().to_string();
        Box::pin(async move {
            match resolve(&rules, &name, 0).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(ResolveError::Refused(r)) => Err(Box::new(Refused(r.to_string())) as _),
                Err(ResolveError::Lookup(e)) => Err(e.into()),
            }
        })
    }
}

/// The URL's host when it is an IP address (IPv6 without its brackets).
fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    url.host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn failed(e: &impl fmt::Display, code: FailureCode) -> TaskOutcome {
    TaskOutcome::Failed {
        error: e.to_string(),
        code,
    }
}

/// Every address of this machine's interfaces (for a server listening on all of them).
fn local_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we only read and then free.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return out;
    }
    let mut cur = list;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: `ifa_addr` points to a sockaddr of the family it says.
            let family = unsafe { (*ifa.ifa_addr).sa_family } as i32;
            if family == libc::AF_INET {
                let sa = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr))));
            } else if family == libc::AF_INET6 {
                let sa = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                out.push(IpAddr::V6(Ipv6Addr::from(sa.sin6_addr.s6_addr)).to_canonical());
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn policy(allow: &[&str], own: &[&str]) -> EgressPolicy {
        EgressPolicy::with(
            &allow.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            own.iter().map(|s| ip(s)).collect(),
        )
        .unwrap()
    }

    #[test]
    fn every_internal_range_is_refused_in_ipv4_and_ipv6_forms() {
        use Forbidden::*;
        let refused = [
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("::", Unspecified),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", Shared),
            ("100.127.255.255", Shared),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fec0::1", UniqueLocal),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            // IPv4-mapped IPv6 forms of all of them.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:172.20.0.1", Private),
            ("::ffff:192.168.0.1", Private),
            ("::ffff:100.100.0.1", Shared),
            ("::ffff:224.0.0.1", Multicast),
            ("::ffff:255.255.255.255", Broadcast),
            // IPv4-compatible and NAT64 forms.
            ("::127.0.0.1", Loopback),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b::10.0.0.1", Private),
        ];
        let p = policy(&[], &[]);
        for (addr, why) in refused {
            assert_eq!(classify(ip(addr)), Some(why), "{addr}");
            let r = p.check(None, ip(addr)).unwrap_err();
            assert_eq!(r.why, why, "{addr}");
        }
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "9.255.255.255",
            "11.0.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.167.1.1",
            "192.169.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.0.1",
            "223.255.255.255",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ];
        for addr in public {
            assert_eq!(classify(ip(addr)), None, "{addr}");
            assert_eq!(p.check(None, ip(addr)), Ok(()), "{addr}");
            assert_eq!(p.check(Some("example.com"), ip(addr)), Ok(()), "{addr}");
        }
    }

    #[test]
    fn the_allow_list_admits_an_address_its_network_or_a_host_name() {
        let p = policy(
            &[
                "127.0.0.5",
                " 10.0.0.0/8 ",
                "fd00::/8",
                "DB.Internal.",
                "[::1]",
                "",
            ],
            &[],
        );
        assert_eq!(p.check(None, ip("127.0.0.5")), Ok(()));
        assert_eq!(p.check(None, ip("::ffff:127.0.0.5")), Ok(()), "mapped too");
        assert_eq!(
            p.check(None, ip("127.0.0.6")).unwrap_err().why,
            Forbidden::Loopback
        );
        assert_eq!(p.check(None, ip("10.200.1.2")), Ok(()));
        assert_eq!(p.check(None, ip("::ffff:10.200.1.2")), Ok(()));
        assert_eq!(p.check(None, ip("11.0.0.1")), Ok(()), "public anyway");
        assert_eq!(
            p.check(None, ip("192.168.0.1")).unwrap_err().why,
            Forbidden::Private
        );
        assert_eq!(p.check(None, ip("fd12::1")), Ok(()));
        assert_eq!(
            p.check(None, ip("fc00::1")).unwrap_err().why,
            Forbidden::UniqueLocal
        );
        assert_eq!(p.check(None, ip("::1")), Ok(()));
        // A name admits every address it resolves to, whatever the case or final dot.
        assert_eq!(p.check(Some("db.internal"), ip("192.168.7.7")), Ok(()));
        assert_eq!(p.check(Some("db.INTERNAL."), ip("127.0.0.1")), Ok(()));
        let r = p
            .check(Some("other.internal"), ip("192.168.7.7"))
            .unwrap_err();
        assert_eq!(
            r.to_string(),
            "other.internal resolves to 192.168.7.7, a private address"
        );
        let r = p.check(None, ip("192.168.7.7")).unwrap_err();
        assert_eq!(r.to_string(), "192.168.7.7 is a private address");
        // /0 is everything.
        let all = policy(&["0.0.0.0/0"], &[]);
        assert_eq!(all.check(None, ip("127.0.0.1")), Ok(()));
        assert!(
            all.check(None, ip("::1")).is_err(),
            "IPv4 networks only hold IPv4"
        );
    }

    #[test]
    fn a_bad_allow_list_entry_is_a_config_error_naming_it() {
        for bad in [
            "10.0.0.0/33",
            "300.1.1.1/8",
            "fe80::/129",
            "10.0.0.0/x",
            "not a host!",
            "-x.example",
            "a..b",
        ] {
            let e = EgressPolicy::with(&[bad.to_string()], vec![]).unwrap_err();
            let m = e.to_string();
            assert!(m.contains("LWAMS_EGRESS_ALLOW"), "{m}");
            assert!(m.contains(&format!("{bad:?}")), "{m}");
        }
        let config = Config {
            egress_allow: vec!["db.internal".into(), "10.0.0.0/8".into(), "oops/8".into()],
            ..Config::default()
        };
        assert!(EgressPolicy::new(&config)
            .unwrap_err()
            .to_string()
            .contains("\"oops/8\""));
    }

    #[test]
    fn the_servers_own_listen_address_is_refused_unless_allowed() {
        let config = Config {
            listen: "203.0.113.5:3000".parse().unwrap(),
            ..Config::default()
        };
        let p = EgressPolicy::new(&config).unwrap();
        for own in ["203.0.113.5", "::ffff:203.0.113.5"] {
            let r = p.check(None, ip(own)).unwrap_err();
            assert_eq!(r.why, Forbidden::Own, "{own}");
        }
        assert_eq!(
            p.check(None, ip("203.0.113.5")).unwrap_err().to_string(),
            "203.0.113.5 is the LWAMS server's own address"
        );
        assert_eq!(p.check(None, ip("203.0.113.6")), Ok(()));
        let allowed = policy(&["203.0.113.0/24"], &["203.0.113.5"]);
        assert_eq!(allowed.check(None, ip("203.0.113.5")), Ok(()));
        // Listening on every address: each address of this machine is its own.
        let any = EgressPolicy::new(&Config {
            listen: "0.0.0.0:3000".parse().unwrap(),
            ..Config::default()
        })
        .unwrap();
        assert!(
            any.rules.own.iter().any(|a| a.is_loopback()),
            "{:?}",
            any.rules.own
        );
    }

    #[tokio::test]
    async fn names_are_checked_on_every_address_they_resolve_to() {
        let p = policy(&[], &[]);
        match p.resolve("localhost", 5432).await {
            Err(ResolveError::Refused(r)) => {
                assert_eq!(r.name.as_deref(), Some("localhost"));
                assert_eq!(r.why, Forbidden::Loopback);
                assert!(r.to_string().starts_with("localhost resolves to "), "{r}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p.resolve("[::ffff:127.0.0.1]", 80).await,
            Err(ResolveError::Refused(_))
        ));
        let allowed = policy(&["localhost"], &[]);
        let addrs = allowed.resolve("localhost", 5432).await.unwrap();
        assert!(addrs
            .iter()
            .all(|a| a.port() == 5432 && a.ip().is_loopback()));
        assert!(matches!(
            p.resolve("no-such-host.invalid", 80).await,
            Err(ResolveError::Lookup(_))
        ));
    }

    fn http(url: &str) -> TaskSpec {
        TaskSpec::Http {
            request: HttpRequest {
                method: "GET".into(),
                url: url.into(),
                headers: vec![],
                body: None,
                verify_tls: true,
            },
            timeout_secs: 5,
        }
    }

    fn error_of(outcome: TaskOutcome) -> String {
        match outcome {
            TaskOutcome::Failed { error, .. } => error,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn in_cloud_http_to_an_internal_address_or_name_is_refused_saying_why() {
        let p = policy(&[], &[]);
        let never = std::future::pending::<()>;
        let e = error_of(
            p.run_service("acme", &http("http://127.0.0.1:9/x"), never())
                .await,
        );
        assert_eq!(
            e,
            "http: 127.0.0.1 is a loopback address; the server does not connect there for \
             company acme (ask the platform operator to allow it with LWAMS_EGRESS_ALLOW)"
        );
        let e = error_of(
            p.run_service(
                "acme",
                &http("http://[::ffff:a9fe:a9fe]/latest/meta-data"),
                never(),
            )
            .await,
        );
        assert!(
            e.starts_with("http: ::ffff:169.254.169.254 is a link-local address;"),
            "{e}"
        );
        let e = error_of(
            p.run_service("acme", &http("http://localhost:9/"), never())
                .await,
        );
        assert!(e.starts_with("http: localhost resolves to "), "{e}");
        assert!(
            e.contains("a loopback address; the server does not connect there for company acme"),
            "{e}"
        );
    }

    fn sql(kind: DataSourceKind, url: &str) -> TaskSpec {
        let spec = serde_json::json!({
            "kind": "sql",
            "database": { "kind": kind, "url": url, "username": "", "password": "" },
            "sql": "SELECT 1",
            "timeout_secs": 5,
        });
        serde_json::from_value(spec).unwrap()
    }

    #[tokio::test]
    async fn in_cloud_sql_to_an_internal_address_a_socket_or_a_file_is_refused() {
        let p = policy(&[], &[]);
        let never = std::future::pending::<()>;
        let cases = [
            (
                sql(DataSourceKind::Postgres, "postgres://127.0.0.1:5432/test"),
                "sql: 127.0.0.1 is a loopback address; the server does not connect there for company acme",
            ),
            (
                sql(DataSourceKind::Mysql, "jdbc:mariadb://10.0.0.7/x"),
                "sql: 10.0.0.7 is a private address;",
            ),
            (
                sql(DataSourceKind::Postgres, "postgres://localhost/test"),
                "sql: localhost resolves to ",
            ),
            (
                sql(DataSourceKind::Postgres, "postgres:///test?host=/var/run/postgresql"),
                "names a file on the LWAMS server",
            ),
            (
                sql(DataSourceKind::Postgres, "postgres://db.example/test?sslkey=/etc/lwams/key"),
                "sql: postgres://db.example/test?sslkey=/etc/lwams/key names a file on the LWAMS server (sslkey);",
            ),
            (
                sql(DataSourceKind::Sqlite, "sqlite:///var/lib/lwams/lwams.db"),
                "is a file on the LWAMS server; only the platform operator's company may use it in cloud",
            ),
        ];
        for (spec, says) in cases {
            let e = error_of(p.run_service("acme", &spec, never()).await);
            assert!(e.contains(says), "{says}: {e}");
        }
        // The allow list admits the address; then the database answers (or not) as usual.
        let allowed = policy(&["127.0.0.1"], &[]);
        let TaskSpec::Sql { database, .. } =
            sql(DataSourceKind::Postgres, "postgres://127.0.0.1:5432/test")
        else {
            unreachable!()
        };
        assert_eq!(
            allowed.sql_address("acme", &database).await.unwrap(),
            ip("127.0.0.1")
        );
    }
}
