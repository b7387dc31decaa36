//! Which addresses a fetch may reach, judged against the IANA special-purpose registries. Pure:
//! the resolver applies it to DNS answers, `check_url` and the redirect policy to IP-literal
//! hosts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Decides whether an address may be fetched; `is_public` outside tests.
pub(super) type AddressCheck = fn(IpAddr) -> bool;

/// True for addresses a fetch may reach: globally routable unicast. False for loopback,
/// private, link-local (incl. the 169.254.169.254 metadata service), CGNAT, multicast,
/// documentation, benchmarking, translation and tunnelling ranges whose embedded IPv4 address
/// is not public, and every reserved range.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// Checked against the IANA "IPv4 Special-Purpose Address Registry" and the "IPv4 Multicast
/// Address Space Registry". The registry marks a few blocks globally reachable (192.0.0.9/32
/// PCP anycast and 192.0.0.10/32 TURN anycast inside 192.0.0.0/24, AS112 192.31.196.0/24 and
/// 192.175.48.0/24, AMT 192.52.193.0/24); the first two are refused with the rest of their /24
/// because they are protocol anycast services, never an image host.
fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network" 0.0.0.0/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT) 100.64/10
        || ip.is_loopback() // 127/8
        || ip.is_link_local() // 169.254/16, cloud metadata
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0/24
        || ip.is_documentation() // TEST-NET-1/2/3: 192.0.2/24, 198.51.100/24, 203.0.113/24
        || (a == 192 && b == 88 && c == 99) // deprecated 6to4 relay anycast 192.88.99/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18/15
        || ip.is_multicast() // 224/4
        || a >= 240) // reserved 240/4, limited broadcast 255.255.255.255
}

/// Checked against the IANA "IPv6 Special-Purpose Address Registry" and "Internet Protocol
/// Version 6 Address Space" registry. Only global unicast 2000::/3 is assigned for routing;
/// everything else (::/8 with loopback, unspecified and IPv4-compatible addresses, 100::/64
/// discard-only, 5f00::/16 SRv6 SIDs, fc00::/7 unique local, fe80::/10 link-local, fec0::/10
/// deprecated site-local, ff00::/8 multicast, 64:ff9b:1::/48 local-use NAT64, and the unassigned
/// rest) is refused, except two forms that carry an IPv4 address a connection really goes to:
/// IPv4-mapped ::ffff:0:0/96 and well-known NAT64 64:ff9b::/96, judged by that address.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6].iter().all(|s| *s == 0) {
        return is_public_v4(embedded(seg[6], seg[7]));
    }
    if seg[0] & 0xe000 != 0x2000 {
        return false;
    }
    // Inside 2000::/3:
    if seg[0] == 0x2001 && seg[1] < 0x0200 {
        // IETF protocol assignments 2001::/23: Teredo 2001::/32 (an obfuscated IPv4 address
        // that may be private), benchmarking 2001:2::/48, ORCHID 2001:10::/28, ORCHIDv2
        // 2001:20::/28, drone DETs 2001:30::/28. The globally reachable blocks in it (PCP, TURN
        // and DNS-SD anycast 2001:1::1-3, AMT 2001:3::/32, AS112 2001:4:112::/48) are protocol
        // services or identifiers, never an image host, so the whole /23 is refused.
        return false;
    }
    if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        return false; // documentation 2001:db8::/32
    }
    if seg[0] == 0x3fff && seg[1] < 0x1000 {
        return false; // documentation 3fff::/20
    }
    if seg[0] == 0x2002 {
        // 6to4 2002::/16 routes to the IPv4 address in bits 16..48.
        return is_public_v4(embedded(seg[1], seg[2]));
    }
    true
}

pub(super) fn literal_is_private(url: &url::Url, is_public: AddressCheck) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn special_purpose_ipv4_ranges_are_not_public() {
        // Pairs of (first and last address of a range) with neighbours just outside.
        for inside in [
            "0.0.0.0",
            "0.255.255.255", // this network 0/8
            "10.0.0.0",
            "10.255.255.255",
            "100.64.0.0",
            "100.127.255.255", // CGNAT
            "127.0.0.1",
            "127.255.255.255",
            "169.254.0.0",
            "169.254.169.254",
            "169.254.255.255",
            "172.16.0.0",
            "172.31.255.255",
            "192.0.0.0",
            "192.0.0.9",
            "192.0.0.170",
            "192.0.0.255", // IETF protocol assignments
            "192.0.2.0",
            "192.0.2.255", // TEST-NET-1
            "192.88.99.0",
            "192.88.99.2",
            "192.88.99.255", // 6to4 relay anycast
            "192.168.0.0",
            "192.168.255.255",
            "198.18.0.0",
            "198.19.255.255", // benchmarking
            "198.51.100.0",
            "198.51.100.255", // TEST-NET-2
            "203.0.113.0",
            "203.0.113.255", // TEST-NET-3
            "224.0.0.0",
            "239.255.255.255", // multicast
            "240.0.0.0",
            "255.255.255.254",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip(inside)), "{inside} must be refused");
        }
        for outside in [
            "1.0.0.0",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "191.255.255.255",
            "192.0.1.0",
            "192.0.3.0",
            "192.88.98.255",
            "192.88.100.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.99.255",
            "198.51.101.0",
            "203.0.112.255",
            "203.0.114.0",
            "223.255.255.255",
            // Globally reachable per the registry.
            "192.31.196.1",
            "192.52.193.1",
            "192.175.48.1",
            "8.8.8.8",
            "1.1.1.1",
        ] {
            assert!(is_public(ip(outside)), "{outside} must be allowed");
        }
    }

    #[test]
    fn special_purpose_ipv6_ranges_are_not_public() {
        for inside in [
            "::",
            "::1",
            "::2",
            "::127.0.0.1", // IPv4-compatible (deprecated)
            "::8.8.8.8",
            "::ffff:127.0.0.1", // IPv4-mapped, judged by the IPv4 address
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1", // NAT64 of 10.0.0.1
            "64:ff9b::c000:201",
            "64:ff9b::7f00:1",
            "64:ff9b:1::", // local-use NAT64 64:ff9b:1::/48
            "64:ff9b:1::808:808",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
            "100::", // discard-only 100::/64
            "100::ffff:ffff:ffff:ffff",
            "100:0:0:1::1", // dummy prefix, right after it
            "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001::",                               // Teredo 2001::/32
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo example (RFC 4380)
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:1::1", // PCP anycast
            "2001:2::1", // benchmarking
            "2001:3::1", // AMT
            "2001:4:112::1",
            "2001:10::1", // ORCHID
            "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:20::1", // ORCHIDv2
            "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:30::1",
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", // end of 2001::/23
            "2001:db8::",
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", // documentation
            "2002:7f00:1::1",                         // 6to4 of 127.0.0.1
            "2002:a00:1::",                           // 6to4 of 10.0.0.1
            "2002:a9fe:a9fe::",                       // 6to4 of 169.254.169.254
            "2002:c0a8:101:ffff:ffff:ffff:ffff:ffff",
            "2002::", // 6to4 of 0.0.0.0
            "3fff::", // documentation 3fff::/20
            "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
            "4000::",
            "5f00::1", // SRv6 SIDs 5f00::/16
            "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fc00::1", // unique local fc00::/7
            "fd00:ec2::254",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fe80::1", // link-local fe80::/10
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "fec0::1", // site-local fec0::/10 (deprecated)
            "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "ff02::1", // multicast
            "ff0e::1",
        ] {
            assert!(!is_public(ip(inside)), "{inside} must be refused");
        }
        for outside in [
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2000::1",
            "2001:200::1", // just after 2001::/23
            "2001:4860:4860::8888",
            "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:db9::1",
            "2002:808:808::1", // 6to4 of 8.8.8.8
            "2003::1",
            "2606:4700::1111",
            "2620:4f:8000::1", // AS112 direct delegation, globally reachable
            "3ffe:ffff::1",
            "3fff:1000::1", // just after 3fff::/20
            "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(is_public(ip(outside)), "{outside} must be allowed");
        }
    }
}
