//! A small MaxMind DB writer, so that country rules are tested against a real database file
//! read by the real reader, with no download. It follows the format's specification
//! (<https://maxmind.github.io/MaxMind-DB/>): an IPv6 search tree of 24-bit records (IPv4
//! networks under `::/96`), 16 zero bytes, a data section of `{country: {iso_code}}` maps,
//! and the metadata map after the `\xAB\xCD\xEFMaxMind.com` marker.

use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Clone, Copy)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

/// `networks`: (CIDR block, ISO country code), not overlapping.
pub fn country_database(networks: &[(&str, &str)]) -> Vec<u8> {
    let mut nodes: Vec<[Record; 2]> = vec![[Record::Empty; 2]];
    let mut data = Vec::new();
    let mut offsets: HashMap<String, usize> = HashMap::new();
    for (cidr, country) in networks {
        let (addr, len) = cidr.split_once('/').expect("a CIDR block");
        let (bits, prefix) = match addr.parse::<IpAddr>().expect("an address") {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 96 + len.parse::<u32>().unwrap()),
            IpAddr::V6(v6) => (u128::from(v6), len.parse::<u32>().unwrap()),
        };
        let offset = *offsets.entry(country.to_string()).or_insert_with(|| {
            let at = data.len();
            map(&mut data, 1);
            string(&mut data, "country");
            map(&mut data, 1);
            string(&mut data, "iso_code");
            string(&mut data, country);
            at
        });
        let mut node = 0;
        for depth in 0..prefix {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth == prefix - 1 {
                nodes[node][bit] = Record::Data(offset);
            } else {
                node = match nodes[node][bit] {
                    Record::Node(next) => next,
                    _ => {
                        nodes.push([Record::Empty; 2]);
                        let next = nodes.len() - 1;
                        nodes[node][bit] = Record::Node(next);
                        next
                    }
                };
            }
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for node in &nodes {
        for record in node {
            let value = match *record {
                Record::Empty => count,
                Record::Node(n) => n,
                Record::Data(offset) => count + 16 + offset,
            };
            out.extend_from_slice(&(value as u32).to_be_bytes()[1..]);
        }
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    map(&mut out, 9);
    string(&mut out, "binary_format_major_version");
    uint(&mut out, 5, 2);
    string(&mut out, "binary_format_minor_version");
    uint(&mut out, 5, 0);
    string(&mut out, "build_epoch");
    uint(&mut out, 9, 1_700_000_000);
    string(&mut out, "database_type");
    string(&mut out, "Roster-Test-Country");
    string(&mut out, "description");
    map(&mut out, 1);
    string(&mut out, "en");
    string(&mut out, "Made by Roster's tests");
    string(&mut out, "ip_version");
    uint(&mut out, 5, 6);
    string(&mut out, "languages");
    out.extend_from_slice(&[1, 11 - 7]);
    string(&mut out, "en");
    string(&mut out, "node_count");
    uint(&mut out, 6, count as u64);
    string(&mut out, "record_size");
    uint(&mut out, 5, 24);
    out
}

fn map(out: &mut Vec<u8>, pairs: u8) {
    out.push((7 << 5) | pairs);
}

fn string(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 29);
    out.push((2 << 5) | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// An unsigned integer of type 5 (uint16), 6 (uint32) or 9 (uint64, an extended type), in as
/// few bytes as it needs.
fn uint(out: &mut Vec<u8>, kind: u8, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let payload = &bytes[skip..];
    match kind {
        5 | 6 => out.push((kind << 5) | payload.len() as u8),
        _ => out.extend_from_slice(&[payload.len() as u8, kind - 7]),
    }
    out.extend_from_slice(payload);
}
