//! Configuration: flags, then `ROSTER_*` environment variables, then an optional TOML file,
//! then defaults — in that order of precedence.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

use crate::http::client_address::TrustedProxies;

/// Settings shared by every subcommand that opens the database.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// A TOML file with any of the settings below (keys as the long flag names, with `_`).
    #[arg(long, env = "ROSTER_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: `sqlite://data/roster.db` (embedded default) or `postgres://user@host/db`.
    #[arg(long, env = "ROSTER_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where the embedded database and generated files live.
    #[arg(long, env = "ROSTER_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// A file holding the 32-byte key (base64) that seals SIP passwords; default `<data dir>/secret.key`,
    /// created on first start. `ROSTER_SECRET_KEY` may give the key itself.
    #[arg(long, env = "ROSTER_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,
    /// Log lines as `text` (default) or `json`: one object a line, for log shippers. The log
    /// starts before the TOML file is read, so this is a flag or `ROSTER_LOG_FORMAT` only.
    #[arg(long, env = "ROSTER_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Settings of `roster serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ROSTER_BIND")]
    pub bind: Option<SocketAddr>,
    /// The URL people reach Roster at (printed at first start; `https://` turns on Secure cookies).
    #[arg(long, env = "ROSTER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// argon2id memory per password hash, in KiB (default 19456, OWASP's). Hashes made with
    /// other parameters are upgraded at each user's next sign-in.
    #[arg(long, env = "ROSTER_ARGON2_MEMORY_KIB")]
    pub argon2_memory_kib: Option<u32>,
    /// argon2id passes (default 2).
    #[arg(long, env = "ROSTER_ARGON2_ITERATIONS")]
    pub argon2_iterations: Option<u32>,
    /// argon2id lanes (default 1).
    #[arg(long, env = "ROSTER_ARGON2_PARALLELISM")]
    pub argon2_parallelism: Option<u32>,
    /// A MaxMind-format GeoIP database (GeoLite2/GeoIP2 Country or City) for country access
    /// rules; without one, country rules cannot be saved.
    #[arg(long, env = "ROSTER_GEOIP_DATABASE")]
    pub geoip_database: Option<PathBuf>,
    /// Reverse proxies whose X-Forwarded-For is believed, as CIDR blocks or addresses
    /// separated by commas (default: none, the TCP peer is the client).
    #[arg(long, env = "ROSTER_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<TrustedProxies>,
    /// SMTP server for mail: `smtp://host:25`, `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS). Unset: mail is written under `<data dir>/mail/` (owner-only files).
    #[arg(long, env = "ROSTER_SMTP_URL", hide_env_values = true, value_parser = secret)]
    pub smtp_url: Option<secrecy::SecretString>,
    /// The sender of Roster's mail (default `Roster <roster@localhost>`).
    #[arg(long, env = "ROSTER_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// A PEM file of extra CA certificates to trust for the SMTP server (a private CA).
    #[arg(long, env = "ROSTER_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// Tuning: the first retry delay of a mail that could not be sent, in ms (default 30000;
    /// later retries wait 4×, 20×, 60×… as long).
    #[arg(long, env = "ROSTER_MAIL_RETRY_BASE_MS", hide = true)]
    pub mail_retry_base_ms: Option<u64>,
    /// A bearer token `/metrics` asks for (default: none, open to whoever reaches it).
    #[arg(long, env = "ROSTER_METRICS_TOKEN", hide_env_values = true, value_parser = secret)]
    pub metrics_token: Option<secrecy::SecretString>,
    /// Serve `/metrics` on this address instead of the main one (e.g. `0.0.0.0:9090`).
    #[arg(long, env = "ROSTER_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// At shutdown, how long to go on serving with `/health/ready` answering 503 before closing,
    /// so that load balancers stop sending requests first (default 0).
    #[arg(long, env = "ROSTER_DRAIN_SECONDS")]
    pub drain_seconds: Option<u64>,
    /// Accept identity providers whose issuer is `http://` on this machine's loopback address
    /// (a provider running beside Roster, for trials). Off: issuers are https only.
    #[arg(long, env = "ROSTER_SSO_HTTP_LOOPBACK")]
    pub sso_http_loopback: Option<bool>,
}

fn secret(value: &str) -> Result<secrecy::SecretString, std::convert::Infallible> {
    Ok(secrecy::SecretString::from(value.to_string()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    secret_key_file: Option<PathBuf>,
    bind: Option<SocketAddr>,
    public_url: Option<String>,
    argon2_memory_kib: Option<u32>,
    argon2_iterations: Option<u32>,
    argon2_parallelism: Option<u32>,
    smtp_url: Option<secrecy::SecretString>,
    mail_from: Option<String>,
    smtp_ca_file: Option<PathBuf>,
    mail_retry_base_ms: Option<u64>,
    geoip_database: Option<PathBuf>,
    trusted_proxies: Option<TrustedProxies>,
    metrics_token: Option<secrecy::SecretString>,
    metrics_bind: Option<SocketAddr>,
    drain_seconds: Option<u64>,
    sso_http_loopback: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub secret_key_file: Option<PathBuf>,
    /// `ROSTER_SECRET_KEY`: read from the environment only, never from a flag (flags show in `ps`).
    pub secret_key: Option<secrecy::SecretString>,
    pub bind: SocketAddr,
    pub public_url: Option<String>,
    /// Password hashing cost (sessions' lifetimes are account settings, see `model::settings`).
    pub argon2: crate::config::HashParams,
    /// Mail delivery (see `mail`): the SMTP URL holds a password, hence secret.
    pub smtp_url: Option<secrecy::SecretString>,
    pub mail_from: String,
    pub smtp_ca_file: Option<PathBuf>,
    pub mail_retry_base_ms: u64,
    /// Country access rules' database (opened, and checked, by `Application::build`).
    pub geoip_database: Option<PathBuf>,
    pub trusted_proxies: TrustedProxies,
    /// `/metrics` asks for this bearer token when set (secret: never logged or shown).
    pub metrics_token: Option<secrecy::SecretString>,
    /// `/metrics` on its own address rather than the main one.
    pub metrics_bind: Option<SocketAddr>,
    /// How long shutdown serves on as not ready before closing.
    pub drain_seconds: u64,
    /// Identity providers may have an `http://` issuer on the loopback address (`--sso-http-loopback`).
    pub sso_http_loopback: bool,
    /// The time scheduled deactivations follow: the system's, or a test's (`Clock::manual`).
    pub clock: crate::clock::Clock,
}

pub const DEFAULT_MAIL_FROM: &str = "Roster <roster@localhost>";
pub const DEFAULT_MAIL_RETRY_BASE_MS: u64 = 30_000;

impl Config {
    pub fn load(common: &ConfigArgs, serve: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &common.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = common.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("data"));
        let database_url = common
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("roster.db").display()));
        let defaults = crate::config::HashParams::default();
        let argon2 = crate::config::HashParams {
            memory_kib: serve.argon2_memory_kib.or(file.argon2_memory_kib).unwrap_or(defaults.memory_kib),
            iterations: serve.argon2_iterations.or(file.argon2_iterations).unwrap_or(defaults.iterations),
            parallelism: serve.argon2_parallelism.or(file.argon2_parallelism).unwrap_or(defaults.parallelism),
        };
        argon2.check()?;
        Ok(Config {
            database_url,
            secret_key_file: common.secret_key_file.clone().or(file.secret_key_file),
            secret_key: std::env::var("ROSTER_SECRET_KEY")
                .ok()
                .filter(|k| !k.is_empty())
                .map(secrecy::SecretString::from),
            data_dir,
            bind: serve.bind.or(file.bind).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            public_url: serve.public_url.clone().or(file.public_url),
            argon2,
            smtp_url: serve.smtp_url.clone().or(file.smtp_url),
            mail_from: serve.mail_from.clone().or(file.mail_from).unwrap_or_else(|| DEFAULT_MAIL_FROM.to_string()),
            smtp_ca_file: serve.smtp_ca_file.clone().or(file.smtp_ca_file),
            mail_retry_base_ms: serve
                .mail_retry_base_ms
                .or(file.mail_retry_base_ms)
                .unwrap_or(DEFAULT_MAIL_RETRY_BASE_MS),
            geoip_database: serve.geoip_database.clone().or(file.geoip_database),
            trusted_proxies: serve.trusted_proxies.clone().or(file.trusted_proxies).unwrap_or_default(),
            metrics_token: serve.metrics_token.clone().or(file.metrics_token),
            metrics_bind: serve.metrics_bind.or(file.metrics_bind),
            drain_seconds: serve.drain_seconds.or(file.drain_seconds).unwrap_or(0),
            sso_http_loopback: serve.sso_http_loopback.or(file.sso_http_loopback).unwrap_or(false),
            clock: crate::clock::Clock::system(),
        })
    }

    /// A configuration for tests and tools: the given database, port 0.
    pub fn for_database(database_url: &str, data_dir: &Path) -> Config {
        Config {
            database_url: database_url.to_string(),
            data_dir: data_dir.to_path_buf(),
            secret_key_file: None,
            secret_key: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            argon2: Default::default(),
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_string(),
            smtp_ca_file: None,
            mail_retry_base_ms: DEFAULT_MAIL_RETRY_BASE_MS,
            geoip_database: None,
            trusted_proxies: TrustedProxies::none(),
            metrics_token: None,
            metrics_bind: None,
            drain_seconds: 0,
            sso_http_loopback: false,
            clock: crate::clock::Clock::system(),
        }
    }

    pub fn secrets(&self) -> anyhow::Result<crate::secrets::Secrets> {
        crate::secrets::Secrets::load(self.secret_key.as_ref(), self.secret_key_file.as_deref(), &self.data_dir)
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roster.toml");
        std::fs::write(&file, "database_url = \"postgres://file/db\"\nargon2_memory_kib = 65536\n").unwrap();
        let common = ConfigArgs { config: Some(file.clone()), ..Default::default() };
        let c = Config::load(&common, &ServeArgs::default()).unwrap();
        assert_eq!(c.database_url, "postgres://file/db");
        assert_eq!(c.argon2.memory_kib, 65536);
        assert_eq!(c.argon2.iterations, 2, "unset parameters keep OWASP's values");
        let serve = ServeArgs { argon2_memory_kib: Some(32768), ..Default::default() };
        assert_eq!(Config::load(&common, &serve).unwrap().argon2.memory_kib, 32768);
        assert_eq!(c.bind.port(), 8080);

        let common =
            ConfigArgs { config: Some(file), database_url: Some("sqlite://x.db".into()), ..Default::default() };
        assert_eq!(Config::load(&common, &ServeArgs::default()).unwrap().database_url, "sqlite://x.db");
    }

    #[test]
    fn argon2_parameters_below_the_floor_are_refused_at_start() {
        let serve = ServeArgs { argon2_memory_kib: Some(1024), ..Default::default() };
        let err = Config::load(&ConfigArgs::default(), &serve).unwrap_err();
        assert!(err.to_string().contains("8192"), "{err}");
    }

    #[test]
    fn the_smtp_password_never_shows_in_debug() {
        let serve =
            ServeArgs { smtp_url: Some("smtp://u:hunter2@mail.example:587".to_string().into()), ..Default::default() };
        let c = Config::load(&ConfigArgs::default(), &serve).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{serve:?}").contains("hunter2"));
        assert_eq!(c.mail_from, DEFAULT_MAIL_FROM);
    }

    #[test]
    fn access_settings_come_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roster.toml");
        std::fs::write(
            &file,
            "geoip_database = \"/geo/Country.mmdb\"\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]\n",
        )
        .unwrap();
        let common = ConfigArgs { config: Some(file), ..Default::default() };
        let c = Config::load(&common, &ServeArgs::default()).unwrap();
        assert_eq!(c.geoip_database.as_deref(), Some(Path::new("/geo/Country.mmdb")));
        assert_eq!(c.trusted_proxies, "10.0.0.0/8,192.0.2.1".parse().unwrap());
        let serve = ServeArgs { trusted_proxies: Some("127.0.0.1".parse().unwrap()), ..Default::default() };
        assert_eq!(Config::load(&common, &serve).unwrap().trusted_proxies, "127.0.0.1/32".parse().unwrap());
        assert!(Config::load(&ConfigArgs::default(), &ServeArgs::default()).unwrap().trusted_proxies.is_empty());
    }

    #[test]
    fn metrics_settings_come_from_flags_or_the_file_and_the_token_stays_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roster.toml");
        std::fs::write(
            &file,
            "metrics_token = \"scrape-Secret-9\"\nmetrics_bind = \"127.0.0.1:9090\"\ndrain_seconds = 7\n",
        )
        .unwrap();
        let common = ConfigArgs { config: Some(file), ..Default::default() };
        let c = Config::load(&common, &ServeArgs::default()).unwrap();
        assert_eq!(c.metrics_token.as_ref().map(|t| t.expose_secret().to_string()).as_deref(), Some("scrape-Secret-9"));
        assert_eq!(c.metrics_bind, Some(SocketAddr::from(([127, 0, 0, 1], 9090))));
        assert_eq!(c.drain_seconds, 7);
        assert!(!format!("{c:?}").contains("scrape-Secret-9"), "the token is not in Debug");
        let serve = ServeArgs {
            drain_seconds: Some(1),
            metrics_token: Some("flag-Secret".to_string().into()),
            ..Default::default()
        };
        assert!(!format!("{serve:?}").contains("flag-Secret"));
        let c = Config::load(&common, &serve).unwrap();
        assert_eq!(c.drain_seconds, 1);
        assert_eq!(c.metrics_token.map(|t| t.expose_secret().to_string()).as_deref(), Some("flag-Secret"));
        let defaults = Config::load(&ConfigArgs::default(), &ServeArgs::default()).unwrap();
        assert!(defaults.metrics_token.is_none() && defaults.metrics_bind.is_none() && defaults.drain_seconds == 0);
    }

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roster.toml");
        std::fs::write(&file, "databse_url = \"typo\"\n").unwrap();
        let common = ConfigArgs { config: Some(file), ..Default::default() };
        assert!(Config::load(&common, &ServeArgs::default()).is_err());
    }
}

/// The argon2id cost of password hashing (`passwords::hashing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    /// OWASP: m = 19 MiB, t = 2, p = 1.
    fn default() -> Self {
        HashParams { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}
