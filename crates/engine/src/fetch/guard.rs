//! The SSRF guard: which addresses the fetcher may connect to, and the two hooks that
//! enforce it inside reqwest (the DNS resolver and the redirect policy).
//!
//! See the module documentation of [`crate::fetch`] for the rules and the reasons.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// What kind of address an IP address is, as far as the SSRF guard is concerned.
///
/// Every class except [`AddressClass::Public`] is refused unless the operator allows private
/// fetches (or lists the exact address in [`FetcherConfig::allowed_addresses`]).
///
/// [`FetcherConfig::allowed_addresses`]: super::FetcherConfig::allowed_addresses
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// A globally routable address: the only class fetched by default.
    Public,
    /// `0.0.0.0` or `::`, which many systems treat as "this host".
    Unspecified,
    /// `0.0.0.0/8` other than `0.0.0.0` ("this network", RFC 1122).
    ThisNetwork,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` (RFC 1918) and the local-use NAT64
    /// prefix `64:ff9b:1::/48`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT (RFC 6598).
    SharedAddressSpace,
    /// `169.254.0.0/16` (where cloud metadata services live) or `fe80::/10`.
    LinkLocal,
    /// `fc00::/7` (RFC 4193).
    UniqueLocal,
    /// `224.0.0.0/4` or `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`: never routed.
    Documentation,
    /// `198.18.0.0/15` (RFC 2544), also used inside private networks and by some local
    /// DNS proxies.
    Benchmarking,
    /// Other special-purpose space: `240.0.0.0/4`, `192.0.0.0/24`, the deprecated site-local
    /// `fec0::/10`, Teredo `2001::/32`, and every IPv6 address outside global unicast
    /// `2000::/3` not named above (e.g. the discard prefix `100::/64`).
    Reserved,
}

impl AddressClass {
    /// Whether the guard refuses this class by default.
    pub fn is_forbidden(self) -> bool {
        self != AddressClass::Public
    }

    /// A short machine-readable name (`"loopback"`, `"link_local"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Unspecified => "unspecified",
            AddressClass::ThisNetwork => "this_network",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::SharedAddressSpace => "shared_address_space",
            AddressClass::LinkLocal => "link_local",
            AddressClass::UniqueLocal => "unique_local",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Documentation => "documentation",
            AddressClass::Benchmarking => "benchmarking",
            AddressClass::Reserved => "reserved",
        }
    }

    /// The class in words, with its article, for error messages ("a loopback address").
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Unspecified => "the unspecified address",
            AddressClass::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private-network address",
            AddressClass::SharedAddressSpace => {
                "a carrier-grade NAT address (shared address space 100.64.0.0/10)"
            }
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::UniqueLocal => "a unique-local IPv6 address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "the broadcast address",
            AddressClass::Documentation => "a documentation-only address",
            AddressClass::Benchmarking => "a benchmarking address (198.18.0.0/15)",
            AddressClass::Reserved => "a reserved special-purpose address",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classifies an IP address for the SSRF guard.
///
/// IPv6 forms that embed an IPv4 address and make a host reach it (IPv4-mapped
/// `::ffff:a.b.c.d`, the deprecated IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96` and
/// 6to4 `2002::/16`) take the class of the embedded IPv4 address, so `::ffff:127.0.0.1` is
/// [`AddressClass::Loopback`].
pub fn classify_ip(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if a == 0 {
        AddressClass::ThisNetwork
    } else if a == 127 {
        AddressClass::Loopback
    } else if a == 10 || (a == 172 && (16..=31).contains(&b)) || (a == 192 && b == 168) {
        AddressClass::Private
    } else if a == 100 && (64..=127).contains(&b) {
        AddressClass::SharedAddressSpace
    } else if a == 169 && b == 254 {
        AddressClass::LinkLocal
    } else if (224..=239).contains(&a) {
        AddressClass::Multicast
    } else if ip.is_broadcast() {
        AddressClass::Broadcast
    } else if a >= 240 || (a == 192 && b == 0 && c == 0) {
        AddressClass::Reserved
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        AddressClass::Documentation
    } else if a == 198 && (b == 18 || b == 19) {
        AddressClass::Benchmarking
    } else {
        AddressClass::Public
    }
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let s = ip.segments();
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, deprecated).
    if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0) {
        return classify_v4(embedded_v4(s[6], s[7]));
    }
    // 64:ff9b::/96, well-known NAT64 prefix: a NAT64 gateway connects to the IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded_v4(s[6], s[7]));
    }
    // 64:ff9b:1::/48, local-use NAT64 (RFC 8215).
    if s[..3] == [0x64, 0xff9b, 1] {
        return AddressClass::Private;
    }
    // 2002::/16, 6to4: the relay reaches the IPv4 address in bits 16..48.
    if s[0] == 0x2002 {
        let inner = classify_v4(embedded_v4(s[1], s[2]));
        if inner.is_forbidden() {
            return inner;
        }
    }
    match s[0] {
        x if x & 0xff00 == 0xff00 => AddressClass::Multicast,
        x if x & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        x if x & 0xffc0 == 0xfec0 => AddressClass::Reserved,
        x if x & 0xfe00 == 0xfc00 => AddressClass::UniqueLocal,
        0x2001 if s[1] == 0x0db8 => AddressClass::Documentation,
        0x2001 if s[1] == 0 => AddressClass::Reserved,
        0x2001 if s[1] == 0x0002 && s[2] == 0 => AddressClass::Benchmarking,
        // Only 2000::/3 is global unicast; the rest (100::/64 discard, unassigned space) is not
        // routed on the internet.
        x if x & 0xe000 == 0x2000 => AddressClass::Public,
        _ => AddressClass::Reserved,
    }
}

/// The policy shared by the pre-flight URL check, the resolver and the redirect policy.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    allow_private: bool,
    allowed: Arc<[IpAddr]>,
}

impl Guard {
    pub(crate) fn new(allow_private: bool, allowed: &[IpAddr]) -> Guard {
        Guard {
            allow_private,
            allowed: allowed.iter().map(|ip| ip.to_canonical()).collect(),
        }
    }

    /// `Err(class)` when the address must not be connected to.
    pub(crate) fn check_ip(&self, ip: IpAddr) -> Result<(), AddressClass> {
        if self.allow_private {
            return Ok(());
        }
        let class = classify_ip(ip);
        if !class.is_forbidden() || self.allowed.contains(&ip.to_canonical()) {
            Ok(())
        } else {
            Err(class)
        }
    }

    /// Checks what can be checked from the URL alone: the scheme and a literal IP host.
    /// Host names are checked later, by [`GuardedResolver`], on the addresses they resolve
    /// to.
    pub(crate) fn check_url(&self, url: &Url) -> Result<(), UrlRefusal> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(UrlRefusal::Scheme(scheme.to_owned()));
        }
        let ip = match url.host() {
            None => return Err(UrlRefusal::NoHost),
            Some(Host::Domain(_)) => return Ok(()),
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        };
        self.check_ip(ip)
            .map_err(|class| UrlRefusal::Address { address: ip, class })
    }
}

/// Why a URL was refused before any connection.
#[derive(Debug, Clone)]
pub(crate) enum UrlRefusal {
    /// Not http or https.
    Scheme(String),
    /// No host at all (e.g. `http:///x` after normalisation).
    NoHost,
    /// A literal IP host in a forbidden class.
    Address {
        address: IpAddr,
        class: AddressClass,
    },
}

/// Raised inside reqwest by [`GuardedResolver`] when a host name resolves to a forbidden
/// address; recognised again in the error chain by the fetcher.
#[derive(Debug, Clone)]
pub(crate) struct ResolveRefusal {
    pub(crate) host: String,
    pub(crate) address: IpAddr,
    pub(crate) class: AddressClass,
}

impl fmt::Display for ResolveRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} resolves to {}, {}",
            self.host,
            self.address,
            self.class.describe()
        )
    }
}

impl StdError for ResolveRefusal {}

/// Raised inside reqwest by [`GuardedResolver`] when a name cannot be resolved.
#[derive(Debug, Clone)]
pub(crate) struct ResolveFailure {
    pub(crate) host: String,
    pub(crate) message: String,
}

impl fmt::Display for ResolveFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not resolve {}: {}", self.host, self.message)
    }
}

impl StdError for ResolveFailure {}

/// Raised inside reqwest by the redirect policy.
#[derive(Debug, Clone)]
pub(crate) struct RedirectRefusal {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) reason: RedirectReason,
}

/// Why a redirect was not followed.
#[derive(Debug, Clone)]
pub(crate) enum RedirectReason {
    TooMany { max: usize },
    Url(UrlRefusal),
}

impl fmt::Display for RedirectRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            RedirectReason::TooMany { max } => write!(f, "more than {max} redirects"),
            RedirectReason::Url(UrlRefusal::Scheme(s)) => {
                write!(f, "redirect to unsupported scheme {s}: {}", self.to)
            }
            RedirectReason::Url(UrlRefusal::NoHost) => {
                write!(f, "redirect to a URL without a host: {}", self.to)
            }
            RedirectReason::Url(UrlRefusal::Address { address, class }) => write!(
                f,
                "redirect to {}: {address} is {}",
                self.to,
                class.describe()
            ),
        }
    }
}

impl StdError for RedirectRefusal {}

/// The redirect policy: at most `max` redirects, and every hop passes
/// [`Guard::check_url`] (host names are vetted again by the resolver when connecting).
pub(crate) fn redirect_policy(guard: Guard, max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` holds every URL requested so far, the original one included, so the
        // n-th redirect sees n previous URLs.
        let from = attempt
            .previous()
            .last()
            .map(|u| u.to_string())
            .unwrap_or_default();
        let to = attempt.url().to_string();
        if attempt.previous().len() > max {
            return attempt.error(RedirectRefusal {
                from,
                to,
                reason: RedirectReason::TooMany { max },
            });
        }
        match guard.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(RedirectRefusal {
                from,
                to,
                reason: RedirectReason::Url(refusal),
            }),
        }
    })
}

/// A `reqwest` resolver that resolves with the system resolver (`tokio::net::lookup_host`)
/// and refuses the name if **any** of its addresses is forbidden. reqwest connects to
/// exactly the addresses returned here, so a name cannot be vetted against one answer and
/// connected to another (DNS rebinding).
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    pub(crate) guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let guard = self.guard.clone();
        Box::pin(async move {
            guarded_lookup(guard, host)
                .await
                .map(|addrs| Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The same resolver for reqwest 0.13, the HTTP client under the MCP client
/// ([`crate::mcp`]): one policy, [`guarded_lookup`], behind both.
impl reqwest013::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest013::dns::Name) -> reqwest013::dns::Resolving {
        let host = name.as_str().to_owned();
        let guard = self.guard.clone();
        Box::pin(async move {
            guarded_lookup(guard, host)
                .await
                .map(|addrs| Box::new(addrs.into_iter()) as reqwest013::dns::Addrs)
        })
    }
}

/// Resolves `host` with the system resolver and refuses it if any of its addresses is
/// forbidden by `guard`.
async fn guarded_lookup(
    guard: Guard,
    host: String,
) -> Result<Vec<SocketAddr>, Box<dyn StdError + Send + Sync>> {
    let lookup = tokio::net::lookup_host((host.as_str(), 0))
        .await
        .map(|addrs| addrs.collect::<Vec<SocketAddr>>());
    let addrs = match lookup {
        Ok(addrs) => addrs,
        Err(e) => {
            return Err(Box::new(ResolveFailure {
                host,
                message: e.to_string(),
            }) as Box<dyn StdError + Send + Sync>)
        }
    };
    if addrs.is_empty() {
        return Err(Box::new(ResolveFailure {
            host,
            message: "the name has no addresses".to_owned(),
        }) as Box<dyn StdError + Send + Sync>);
    }
    for addr in &addrs {
        if let Err(class) = guard.check_ip(addr.ip()) {
            tracing::warn!(host = %host, address = %addr.ip(), class = %class, "fetch refused by the SSRF guard after DNS resolution");
            return Err(Box::new(ResolveRefusal {
                host,
                address: addr.ip(),
                class,
            }) as Box<dyn StdError + Send + Sync>);
        }
    }
    Ok(addrs)
}
