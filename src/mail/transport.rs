//! How a message leaves: over SMTP (lettre, rustls) when `smtp_url` is set, else into a file
//! under `<data dir>/mail/` and the log, so that a newcomer on a fresh machine can follow the
//! codes and links Roster sends.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// An SMTP conversation that hangs is given up after this long (and retried later).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

pub enum Transport {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, server: String },
    Files { dir: PathBuf },
}

/// What became of one attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// Delivered; with a note for the outbox when it went somewhere other than SMTP.
    Done(Option<String>),
    /// Worth trying again later (connection refused, timeout, a 4xx answer).
    Transient(String),
    /// The server refused for good (a 5xx answer), or the message cannot be made.
    Permanent(String),
}

pub struct Outgoing<'a> {
    pub id: i64,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
}

impl Transport {
    pub fn from_config(smtp_url: Option<&SecretString>, ca_file: Option<&Path>, data_dir: &Path) -> anyhow::Result<Transport> {
        let Some(url) = smtp_url else {
            return Ok(Transport::Files { dir: data_dir.join("mail") });
        };
        let url = url.expose_secret();
        // Parsed here first so that a mistake is reported without echoing the password.
        let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("the SMTP URL is not a URL: {e}"))?;
        let host = parsed.host_str().context("the SMTP URL has no host")?.to_string();
        let server = format!("{}://{}:{}", parsed.scheme(), host, parsed.port().map_or_else(|| "default".into(), |p| p.to_string()));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("the SMTP URL {server} is not usable: {e}"))?
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(ca_file) = ca_file {
            let pem = std::fs::read(ca_file).with_context(|| format!("reading the SMTP CA file {}", ca_file.display()))?;
            let ca = Certificate::from_pem(&pem).map_err(|e| anyhow::anyhow!("the SMTP CA file {}: {e}", ca_file.display()))?;
            let params = TlsParameters::builder(host.clone()).add_root_certificate(ca).build_rustls()?;
            let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.to_string());
            builder = match (parsed.scheme(), tls.as_deref()) {
                ("smtps", _) => builder.tls(Tls::Wrapper(params)),
                (_, Some("required")) => builder.tls(Tls::Required(params)),
                (_, Some("opportunistic")) => builder.tls(Tls::Opportunistic(params)),
                _ => anyhow::bail!("--smtp-ca-file needs a TLS SMTP URL (smtps://… or ?tls=required)"),
            };
        }
        Ok(Transport::Smtp { transport: builder.build(), server })
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { server, .. } => format!("SMTP {server}"),
            Transport::Files { dir } => format!("files under {} (no SMTP server configured)", dir.display()),
        }
    }

    pub async fn send(&self, from: &Mailbox, mail: &Outgoing<'_>) -> Sent {
        let message = match build(from, mail) {
            Ok(m) => m,
            Err(e) => return Sent::Permanent(format!("the message could not be made: {e}")),
        };
        match self {
            Transport::Smtp { transport, .. } => match transport.send(message).await {
                Ok(_) => Sent::Done(None),
                Err(e) if e.is_permanent() => Sent::Permanent(smtp_error(&e)),
                Err(e) => Sent::Transient(smtp_error(&e)),
            },
            Transport::Files { dir } => match write_file(dir, mail.id, &message.formatted()).await {
                Ok(path) => {
                    tracing::info!(to = mail.to, subject = mail.subject, file = %path.display(), "mail (no SMTP server configured):\n{}", mail.text);
                    Sent::Done(Some(format!("written to {}", path.display())))
                }
                Err(e) => Sent::Transient(format!("writing {}: {e}", dir.display())),
            },
        }
    }
}

fn build(from: &Mailbox, mail: &Outgoing<'_>) -> anyhow::Result<Message> {
    let to: Mailbox = mail.to.parse().map_err(|e| anyhow::anyhow!("the address {:?}: {e}", mail.to))?;
    Ok(Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text.to_string())?)
}

/// lettre's message with the server's answer, for the outbox (never any credentials).
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    let text: String = text.chars().take(500).collect();
    match e.status() {
        Some(code) => format!("SMTP {code}: {text}"),
        None => text,
    }
}

async fn write_file(dir: &Path, id: i64, bytes: &[u8]) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let path = dir.join(format!("{stamp}-{id}.eml"));
    tokio::fs::write(&path, bytes).await?;
    Ok(path)
}

/// The sender address, checked at start.
pub fn parse_from(from: &str) -> anyhow::Result<Mailbox> {
    from.parse().map_err(|e| anyhow::anyhow!("--mail-from {from:?} is not a mail address: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_smtp_url_means_files_under_the_data_dir() {
        let t = Transport::from_config(None, None, Path::new("/tmp/x")).unwrap();
        assert!(matches!(t, Transport::Files { dir } if dir == Path::new("/tmp/x/mail")));
    }

    #[test]
    fn a_bad_url_is_refused_without_showing_the_password() {
        let url = SecretString::from("ftp://u:hunter2@mail.example".to_string());
        let err = Transport::from_config(Some(&url), None, Path::new("/tmp")).err().expect("refused").to_string();
        assert!(!err.contains("hunter2"), "{err}");
        for good in ["smtp://mail.example:25", "smtp://u:p@mail.example:587?tls=required", "smtps://u:p@mail.example"] {
            let url = SecretString::from(good.to_string());
            assert!(Transport::from_config(Some(&url), None, Path::new("/tmp")).is_ok(), "{good}");
        }
    }

    #[test]
    fn the_sender_must_be_an_address() {
        assert!(parse_from("Roster <roster@localhost>").is_ok());
        assert!(parse_from("not an address").is_err());
    }
}
