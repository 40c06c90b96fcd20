//! Who the client is and which address it used, behind a reverse proxy.
//!
//! Behind nginx every connection comes from the proxy, and the browser's `Origin` names the
//! public site (`https://stocks.example`) while `Host` may name the upstream. A proxy says what
//! it saw in `Forwarded` (RFC 7239) or the older `X-Forwarded-For`, `-Proto` and `-Host`. Anyone
//! can send those headers, so they are believed only from a peer in `trusted_proxies`, and of
//! the chain of addresses only the right-most one that is not itself a trusted proxy is taken:
//! everything left of it was written by the client, which may lie.
//!
//! `public_origin` is for a proxy that sends nothing: the site's origin, fixed.

use crate::sync::Unpoisoned;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use crate::http::{Authority, Headers};

/// Addresses and CIDR blocks whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Block>);

/// One address block: the network and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    net: IpAddr,
    prefix: u8,
}

impl TrustedProxies {
    /// Parses `"127.0.0.1, 10.0.0.0/8, ::1"`: addresses or CIDR blocks, separated by commas or
    /// spaces; empty for none.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut blocks = Vec::new();
        for item in text
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (addr, prefix) = match item.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (item, None),
            };
            let net: IpAddr = addr
                .parse()
                .map_err(|_| format!("{item:?} is not an IP address or a CIDR block"))?;
            let max = if net.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("{item:?}: the prefix length must be 0-{max}"))?,
            };
            blocks.push(Block { net, prefix });
        }
        Ok(TrustedProxies(blocks))
    }

    /// Whether none is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is in one of the blocks (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|b| b.contains(ip))
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{}/{}", b.net, b.prefix)?;
        }
        Ok(())
    }
}

impl Block {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:1.2.3.4` as `1.2.3.4`, as a dual-stack listener reports IPv4 peers.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// What a trusted proxy said of the client: its address, and the scheme and host it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The client's address.
    pub client: IpAddr,
    /// `http` or `https`, when the proxy said.
    pub proto: Option<String>,
    /// The `Host` the client sent to the proxy, when the proxy said.
    pub host: Option<String>,
}

/// The client behind `peer`: what the forwarding headers of `headers` say if `peer` is
/// trusted, else `peer` itself with nothing more. `Forwarded` wins over `X-Forwarded-*`.
pub fn resolve(peer: IpAddr, headers: &Headers, trusted: &TrustedProxies) -> Forwarded {
    let alone = Forwarded {
        client: canonical(peer),
        proto: None,
        host: None,
    };
    if !trusted.contains(peer) {
        return alone;
    }
    let named = |name: &'static str| headers.get_all(name);
    // Forwarded: one element per hop, left to right, each `for=..;proto=..;host=..`.
    let elements: Vec<Vec<(String, String)>> = named("Forwarded")
        .flat_map(|v| v.split(','))
        .map(parse_element)
        .collect();
    if let Some(last) = elements.last() {
        let hops: Vec<Option<IpAddr>> = elements.iter().map(|e| node(param(e, "for"))).collect();
        // The element of the hop taken as the client holds what the client-facing proxy saw;
        // without one, the nearest proxy's element is all there is.
        let (element, client) = match rightmost_untrusted(&hops, trusted) {
            Some((i, client)) => (&elements[i], client),
            None => (last, alone.client),
        };
        return Forwarded {
            client,
            proto: param(element, "proto").map(str::to_ascii_lowercase),
            host: param(element, "host").map(str::to_string),
        };
    }
    let hops: Vec<Option<IpAddr>> = named("X-Forwarded-For")
        .flat_map(|v| v.split(','))
        .map(|h| node(Some(h.trim())))
        .collect();
    let client = rightmost_untrusted(&hops, trusted).map_or(alone.client, |(_, ip)| ip);
    // The proxy next to us sets these; if several were appended, the last one is its.
    let last = |name| {
        named(name)
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .last()
            .map(str::to_string)
    };
    Forwarded {
        client,
        proto: last("X-Forwarded-Proto").map(|p| p.to_ascii_lowercase()),
        host: last("X-Forwarded-Host"),
    }
}

/// The right-most hop that is not a trusted proxy, with its index; if every hop is trusted,
/// the left-most. `None` when the chain is empty or a hop that matters is not an address
/// (`unknown`, an obfuscated `_name`): then the proxy's own address is all that is known.
fn rightmost_untrusted(
    hops: &[Option<IpAddr>],
    trusted: &TrustedProxies,
) -> Option<(usize, IpAddr)> {
    for (i, hop) in hops.iter().enumerate().rev() {
        let ip = (*hop)?;
        if !trusted.contains(ip) || i == 0 {
            return Some((i, canonical(ip)));
        }
    }
    None
}

/// One `Forwarded` element's parameters, names lower-cased, quotes removed.
fn parse_element(element: &str) -> Vec<(String, String)> {
    element
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (k.trim().to_ascii_lowercase(), v.to_string())
        })
        .collect()
}

fn param<'e>(element: &'e [(String, String)], name: &str) -> Option<&'e str> {
    element
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The address of a node: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`
/// or a bare IPv6 address; `None` for `unknown`, obfuscated names and anything else.
fn node(text: Option<&str>) -> Option<IpAddr> {
    let text = text?.trim();
    // A bare IPv6 address has colons of its own, and is no authority.
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    let authority = Authority::parse(text)?;
    match authority.bare_host().parse::<IpAddr>().ok()? {
        // `[192.0.2.1]` is no IP literal: brackets are for IPv6.
        IpAddr::V4(_) if authority.host.starts_with('[') => None,
        ip => Some(ip),
    }
}

impl TrustedProxies {
    /// The client's address and the site's public origin, as far as the server knows them:
    /// the peer and `public_origin`, unless the peer is a trusted proxy that forwarded them.
    /// Over HTTPS with nothing forwarded, the origin is `https://` and the `Host` sent.
    pub(crate) fn client_and_origin(
        &self,
        peer: SocketAddr,
        headers: &Headers,
        over_tls: bool,
        public_origin: Option<&str>,
    ) -> (IpAddr, Option<String>) {
        let host = || headers.get("Host").map(str::trim);
        let origin_of_tls = || {
            over_tls
                .then(|| host().map(|h| format!("https://{h}")))
                .flatten()
        };
        if self.is_empty() {
            let origin = public_origin.map(str::to_string).or_else(origin_of_tls);
            return (peer.ip(), origin);
        }
        let seen = resolve(peer.ip(), headers, self);
        let forwarded = || {
            let host = seen.host.as_deref().map(str::trim).or_else(host)?;
            let scheme = seen
                .proto
                .as_deref()
                .filter(|p| matches!(*p, "http" | "https"));
            (seen.host.is_some() || scheme.is_some())
                .then(|| format!("{}://{host}", scheme.unwrap_or("http")))
        };
        let origin = public_origin
            .map(str::to_string)
            .or_else(forwarded)
            .or_else(origin_of_tls);
        (seen.client, origin)
    }
}

/// Requests in flight per client that a trusted proxy forwarded: behind a proxy every
/// connection is the proxy's, so the per-address limit counts requests, not connections.
#[derive(Default)]
pub(crate) struct InFlightByClient(Mutex<HashMap<IpAddr, usize>>);

/// A forwarded client's place among the requests in flight, given back when dropped.
pub(crate) struct InFlight<'a> {
    counts: &'a InFlightByClient,
    client: IpAddr,
}

impl InFlightByClient {
    /// Counts one more request of `client`; `Err` when it already has `limit` in flight.
    pub fn enter(&self, client: IpAddr, limit: usize) -> Result<InFlight<'_>, IpAddr> {
        let mut counts = self.0.lock().unpoisoned();
        let n = counts.entry(client).or_insert(0);
        if *n >= limit {
            return Err(client);
        }
        *n += 1;
        Ok(InFlight {
            counts: self,
            client,
        })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unpoisoned();
        if let Some(n) = counts.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn resolved(peer: &str, headers: &[(&str, &str)], trusted: &str) -> Forwarded {
        let trusted = TrustedProxies::parse(trusted).unwrap();
        let mut h = Headers::new();
        for (name, value) in headers {
            h.append(*name, *value);
        }
        resolve(ip(peer), &h, &trusted)
    }

    #[test]
    fn blocks_parse_and_contain() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8 ::1 fd00::/8").unwrap();
        for yes in ["127.0.0.1", "10.1.2.3", "::1", "fd12::1", "::ffff:10.9.9.9"] {
            assert!(t.contains(ip(yes)), "{yes}");
        }
        for no in ["127.0.0.2", "11.0.0.1", "::2", "fe80::1"] {
            assert!(!t.contains(ip(no)), "{no}");
        }
        assert!(TrustedProxies::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("8.8.8.8")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["localhost", "10.0.0.0/33", "::/129", "1.2.3.4/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let f = resolved(
            "203.0.113.9",
            &[
                ("X-Forwarded-For", "1.2.3.4"),
                ("Forwarded", "for=1.2.3.4;proto=https"),
            ],
            "127.0.0.1",
        );
        assert_eq!(f.client, ip("203.0.113.9"));
        assert_eq!((f.proto, f.host), (None, None));
    }

    #[test]
    fn x_forwarded_for_takes_the_rightmost_untrusted_hop() {
        let xff = [
            ("X-Forwarded-For", "6.6.6.6, 198.51.100.7"),
            ("X-Forwarded-For", "10.0.0.2"),
            ("X-Forwarded-Proto", "HTTPS"),
            ("X-Forwarded-Host", "stocks.example"),
        ];
        let f = resolved("127.0.0.1", &xff, "127.0.0.1, 10.0.0.0/8");
        // 6.6.6.6 was written by the client itself: never believed.
        assert_eq!(f.client, ip("198.51.100.7"));
        assert_eq!(f.proto.as_deref(), Some("https"));
        assert_eq!(f.host.as_deref(), Some("stocks.example"));
        // Every hop trusted: the left-most.
        let f = resolved(
            "127.0.0.1",
            &[("X-Forwarded-For", "10.0.0.5, 10.0.0.6")],
            "127.0.0.1, 10.0.0.0/8",
        );
        assert_eq!(f.client, ip("10.0.0.5"));
        // Garbage where the client should be: the proxy is all that is known.
        let f = resolved(
            "127.0.0.1",
            &[("X-Forwarded-For", "1.2.3.4, nonsense")],
            "127.0.0.1",
        );
        assert_eq!(f.client, ip("127.0.0.1"));
    }

    #[test]
    fn forwarded_wins_and_its_element_gives_proto_and_host() {
        let h = [
            (
                "Forwarded",
                r#"for="[2001:db8:cafe::17]:4711";proto=https;host="stocks.example:8443""#,
            ),
            ("Forwarded", "for=10.0.0.2;proto=http;host=inner"),
            ("X-Forwarded-For", "9.9.9.9"),
        ];
        let f = resolved("127.0.0.1", &h, "127.0.0.1, 10.0.0.0/8");
        assert_eq!(f.client, ip("2001:db8:cafe::17"));
        assert_eq!(f.proto.as_deref(), Some("https"));
        assert_eq!(f.host.as_deref(), Some("stocks.example:8443"));
        let f = resolved(
            "127.0.0.1",
            &[("Forwarded", "For=192.0.2.60:80;Proto=http")],
            "127.0.0.1",
        );
        assert_eq!(f.client, ip("192.0.2.60"));
        let f = resolved(
            "127.0.0.1",
            &[("Forwarded", "for=unknown;proto=https")],
            "127.0.0.1",
        );
        assert_eq!(f.client, ip("127.0.0.1"));
        assert_eq!(f.proto.as_deref(), Some("https"));
        // A proxy that names the scheme and host but not the client.
        let f = resolved("127.0.0.1", &[("X-Forwarded-Proto", "https")], "127.0.0.1");
        assert_eq!(
            (f.client, f.proto.as_deref()),
            (ip("127.0.0.1"), Some("https"))
        );
    }
}
