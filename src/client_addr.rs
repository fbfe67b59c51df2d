//! The client's address behind reverse proxies: `X-Forwarded-For` / `Forwarded` are believed
//! only from `server.trusted_proxies`, and read from the right, so a client cannot name itself.
use std::net::{IpAddr, Ipv6Addr};

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// Is `ip` (IPv4-mapped IPv6 counts as the IPv4 address) in one of `trusted`?
pub fn is_trusted(trusted: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    trusted.iter().any(|net| net.contains(&ip))
}

/// The address of the client that sent a request that reached daypass from `peer`.
///
/// From an untrusted peer that is the peer. From a trusted proxy, the hops it forwards
/// (`X-Forwarded-For`, or `Forwarded: for=` when there is none) are walked from the right: the
/// first hop that is not itself a trusted proxy is the client. Everything left of it was written
/// by the client and is never believed. A hop that is not an address stops the walk at the last
/// trusted one.
pub fn client_ip(trusted: &[IpNet], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(trusted, peer) {
        return peer;
    }
    let hops = forwarded_hops(headers);
    let mut last = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(trusted, ip) => last = ip,
            Some(ip) => return ip,
            None => return last,
        }
    }
    last
}

/// The key a per-address limit counts under: an IPv4 address, or an IPv6 address's /64 (one
/// subscriber usually holds a whole /64, so counting single IPv6 addresses counts nothing).
pub fn limit_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

/// The forwarded hops in order (leftmost first), from every `X-Forwarded-For` header, or from
/// `Forwarded`'s `for=` parameters when no `X-Forwarded-For` is present.
fn forwarded_hops(headers: &HeaderMap) -> Vec<&str> {
    let xff: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all(FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| v.trim().trim_matches('"'))
            })
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return inside.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (addr, port) = hop.rsplit_once(':')?;
    if !is_port(port) {
        return None;
    }
    addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["127.0.0.0/8", "10.0.0.0/8", "::1/128"]);
        type Case<'a> = (&'a str, &'a [(&'static str, &'a str)], &'a str);
        let table: &[Case] = &[
            // An untrusted peer is the client, whatever it claims.
            (
                "203.0.113.9",
                &[("x-forwarded-for", "198.51.100.1")],
                "203.0.113.9",
            ),
            // A trusted proxy with no header: the proxy itself.
            ("127.0.0.1", &[], "127.0.0.1"),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "198.51.100.1")],
                "198.51.100.1",
            ),
            // The client's own prefix is ignored: the proxy appended the real address last.
            (
                "127.0.0.1",
                &[("x-forwarded-for", "1.1.1.1, 198.51.100.1")],
                "198.51.100.1",
            ),
            // Through two trusted proxies.
            (
                "127.0.0.1",
                &[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.5")],
                "198.51.100.1",
            ),
            // Several headers count as one list, in order.
            (
                "127.0.0.1",
                &[
                    ("x-forwarded-for", "6.6.6.6"),
                    ("x-forwarded-for", "198.51.100.2"),
                ],
                "198.51.100.2",
            ),
            // Garbage stops the walk at the last trusted hop.
            (
                "127.0.0.1",
                &[("x-forwarded-for", "6.6.6.6, nonsense")],
                "127.0.0.1",
            ),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "6.6.6.6, garbage, 10.0.0.7")],
                "10.0.0.7",
            ),
            // Ports and brackets.
            (
                "127.0.0.1",
                &[("x-forwarded-for", "198.51.100.3:4444")],
                "198.51.100.3",
            ),
            (
                "127.0.0.1",
                &[("x-forwarded-for", "[2001:db8::1]:80")],
                "2001:db8::1",
            ),
            // Forwarded, when there is no X-Forwarded-For.
            (
                "::1",
                &[(
                    "forwarded",
                    "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https",
                )],
                "2001:db8::7",
            ),
            ("::1", &[("forwarded", "for=unknown")], "::1"),
            // An IPv4-mapped peer is its IPv4 address.
            (
                "::ffff:127.0.0.1",
                &[("x-forwarded-for", "198.51.100.4")],
                "198.51.100.4",
            ),
        ];
        for (peer, h, want) in table {
            assert_eq!(
                client_ip(&trusted, ip(peer), &headers(h)),
                ip(want),
                "{peer} {h:?}"
            );
        }
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        assert_eq!(limit_key(ip("198.51.100.1")), "198.51.100.1");
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(
            limit_key(ip("2001:db8:1:2:bbbb::9")),
            limit_key(ip("2001:db8:1:2:aaaa::1"))
        );
    }
}
