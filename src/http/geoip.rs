//! Countries of addresses, from a MaxMind-format database (GeoLite2/GeoIP2 Country or City,
//! or any MMDB with `country.iso_code`) configured by path. The file is read once at start;
//! a missing, unreadable or invalid file stops the start with a message naming it, rather
//! than failing later at a sign-in.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(Default)]
pub struct GeoIp {
    reader: Option<(PathBuf, maxminddb::Reader<Vec<u8>>)>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp").field("path", &self.path()).finish()
    }
}

impl GeoIp {
    /// No database: country rules cannot be saved, `country` always answers `None`.
    pub fn none() -> GeoIp {
        GeoIp::default()
    }

    pub fn open(path: &Path) -> anyhow::Result<GeoIp> {
        let what = || format!("GeoIP database {}", path.display());
        let bytes = std::fs::read(path).with_context(|| format!("reading the {}", what()))?;
        let reader = maxminddb::Reader::from_source(bytes)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("the {} is not a MaxMind DB file", what()))?;
        // A lookup walks the tree; a file that fails here would fail at every sign-in.
        reader
            .lookup(IpAddr::from([0u8; 4]))
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("the {} is damaged", what()))?;
        Ok(GeoIp { reader: Some((path.to_path_buf(), reader)) })
    }

    pub fn is_configured(&self) -> bool {
        self.reader.is_some()
    }

    pub fn path(&self) -> Option<&Path> {
        self.reader.as_ref().map(|(p, _)| p.as_path())
    }

    /// The database's description of itself (type and build date), for the console.
    pub fn describe(&self) -> Option<String> {
        let (path, reader) = self.reader.as_ref()?;
        let m = reader.metadata();
        Some(format!("{} ({}, built at Unix time {})", path.display(), m.database_type, m.build_epoch))
    }

    /// The ISO 3166-1 alpha-2 code of the country `ip` is in, when the database knows it.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let (_, reader) = self.reader.as_ref()?;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let found = reader.lookup(ip).ok()?;
        let record = found.decode::<maxminddb::geoip2::Country>().ok()??;
        record.country.iso_code.map(|c| c.to_ascii_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_invalid_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nowhere.mmdb");
        let err = format!("{:#}", GeoIp::open(&missing).unwrap_err());
        assert!(err.contains("nowhere.mmdb"), "{err}");
        let junk = dir.path().join("junk.mmdb");
        std::fs::write(&junk, b"not a database").unwrap();
        let err = format!("{:#}", GeoIp::open(&junk).unwrap_err());
        assert!(err.contains("junk.mmdb") && err.contains("not a MaxMind DB"), "{err}");
    }

    #[test]
    fn without_a_database_no_country_is_known() {
        assert_eq!(GeoIp::none().country("81.2.69.160".parse().unwrap()), None);
    }
}
