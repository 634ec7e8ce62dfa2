//! The digest a SIP server checks a phone's answer against: HA1 = H(username:realm:password),
//! with MD5 (RFC 2617, what every SIP server knows) and SHA-256 (RFC 8760, RFC 7616's
//! algorithm for SIP). The directory hands these out instead of the password.

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// A phone's HA1 values for one realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ha1 {
    pub md5: String,
    pub sha256: String,
}

impl Ha1 {
    pub fn of(username: &str, realm: &str, password: &str) -> Ha1 {
        let a1 = format!("{username}:{realm}:{password}");
        Ha1 { md5: hex::encode(Md5::digest(a1.as_bytes())), sha256: hex::encode(Sha256::digest(a1.as_bytes())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616's `response` for qop=auth, from an HA1 (what a SIP server does with ours).
    fn response(
        hash: fn(&[u8]) -> String,
        ha1: &str,
        method: &str,
        uri: &str,
        nonce: &str,
        nc: &str,
        cnonce: &str,
    ) -> String {
        let ha2 = hash(format!("{method}:{uri}").as_bytes());
        hash(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}").as_bytes())
    }

    fn md5(bytes: &[u8]) -> String {
        hex::encode(Md5::digest(bytes))
    }

    fn sha256(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn rfc_2617_example() {
        // RFC 2617 §3.5: the HA1 is not printed there, the response is.
        let ha1 = Ha1::of("Mufasa", "testrealm@host.com", "Circle Of Life");
        let r = response(
            md5,
            &ha1.md5,
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "00000001",
            "0a4f113b",
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn rfc_7616_examples_md5_and_sha256() {
        // RFC 7616 §3.9.1, both algorithms.
        let ha1 = Ha1::of("Mufasa", "http-auth@example.org", "Circle of Life");
        let (nonce, cnonce) =
            ("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
        assert_eq!(
            response(md5, &ha1.md5, "GET", "/dir/index.html", nonce, "00000001", cnonce),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
        assert_eq!(
            response(sha256, &ha1.sha256, "GET", "/dir/index.html", nonce, "00000001", cnonce),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn the_realm_and_name_are_part_of_the_hash() {
        let a = Ha1::of("1001", "acme", "pw");
        assert_ne!(a, Ha1::of("1001", "beta", "pw"), "the same extension in another account's realm");
        assert_ne!(a, Ha1::of("1002", "acme", "pw"));
        assert_eq!(a.md5.len(), 32);
        assert_eq!(a.sha256.len(), 64);
    }
}
