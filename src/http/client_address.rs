//! The client's address behind reverse proxies. `X-Forwarded-For` is anyone's to write, so it
//! is believed only when the TCP peer is a configured trusted proxy (none by default); then
//! the header is read from the right, past the trusted proxies, to the first address that is
//! not one: the client as the nearest proxy we trust saw it.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

const FORWARDED_FOR: &str = "x-forwarded-for";

/// `--trusted-proxies`: the proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn none() -> TrustedProxies {
        TrustedProxies(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if self.0.is_empty() || !self.trusts(peer) {
            return peer;
        }
        // Several headers count as one comma-separated list, in order.
        let mut hops = Vec::new();
        for value in headers.get_all(FORWARDED_FOR) {
            let Ok(text) = value.to_str() else { return peer };
            for hop in text.split(',') {
                match parse_hop(hop) {
                    Some(ip) => hops.push(ip),
                    // One unreadable entry makes the whole header untrustworthy.
                    None => return peer,
                }
            }
        }
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = hop;
            if !self.trusts(hop) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// IPv4 peers of a dual-stack socket show as `::ffff:a.b.c.d`; they are IPv4 clients.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// `CIDR,CIDR,…`; a bare address is a block of one.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut nets = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => item
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| format!("{item:?} is not an IP address or CIDR block (e.g. 10.0.0.0/8)"))?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }
}

impl<'de> serde::Deserialize<'de> for TrustedProxies {
    /// A TOML string (`"10.0.0.0/8, 192.0.2.1"`) or a list of strings.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Form {
            One(String),
            Many(Vec<String>),
        }
        let text = match Form::deserialize(d)? {
            Form::One(s) => s,
            Form::Many(v) => v.join(","),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn by_default_the_header_is_ignored() {
        let none = TrustedProxies::none();
        assert_eq!(none.client_address(ip("198.51.100.1"), &headers(&["192.0.2.1"])), ip("198.51.100.1"));
    }

    #[test]
    fn an_untrusted_peer_cannot_forge_its_address() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(proxies.client_address(ip("198.51.100.1"), &headers(&["192.0.2.1"])), ip("198.51.100.1"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies: TrustedProxies = "10.0.0.0/8, 192.0.2.50".parse().unwrap();
        let peer = ip("10.0.0.1");
        // The client forged the first entry; the proxies appended what they saw.
        let h = headers(&["6.6.6.6, 203.0.113.9", "192.0.2.50"]);
        assert_eq!(proxies.client_address(peer, &h), ip("203.0.113.9"));
        assert_eq!(proxies.client_address(peer, &headers(&["[2001:db8::7]:443"])), ip("2001:db8::7"));
        assert_eq!(proxies.client_address(peer, &headers(&["203.0.113.9:5060"])), ip("203.0.113.9"));
        assert_eq!(proxies.client_address(ip("::ffff:10.0.0.1"), &headers(&["203.0.113.9"])), ip("203.0.113.9"));
    }

    #[test]
    fn only_trusted_hops_gives_the_leftmost_and_no_header_gives_the_peer() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        assert_eq!(proxies.client_address(ip("10.0.0.1"), &headers(&["10.0.0.2, 10.0.0.3"])), ip("10.0.0.2"));
        assert_eq!(proxies.client_address(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
    }

    #[test]
    fn a_malformed_header_falls_back_to_the_peer() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        for bad in ["unknown", "203.0.113.9, , 10.0.0.2", "203.0.113.9;x", "300.1.1.1"] {
            assert_eq!(proxies.client_address(ip("10.0.0.1"), &headers(&[bad])), ip("10.0.0.1"), "{bad}");
        }
    }

    #[test]
    fn the_list_parses_blocks_and_addresses_and_refuses_junk() {
        assert_eq!("".parse::<TrustedProxies>().unwrap(), TrustedProxies::none());
        assert!("10.0.0.0/8,::1".parse::<TrustedProxies>().is_ok());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().unwrap_err().contains("10.0.0.0/33"));
    }
}
