//! How a message leaves: over SMTP (lettre, rustls) when `smtp_url` is set, else into a file
//! under `<data dir>/mail/`, so that a newcomer on a fresh machine can follow the codes and
//! links Roster sends. The files are the owner's only (0600 in a 0700 folder); the log says
//! that a message was written, to whom and where, never its text (D9: links and codes in it).

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
    pub fn from_config(
        smtp_url: Option<&SecretString>,
        ca_file: Option<&Path>,
        data_dir: &Path,
    ) -> anyhow::Result<Transport> {
        let Some(url) = smtp_url else {
            return Ok(Transport::Files { dir: data_dir.join("mail") });
        };
        let url = url.expose_secret();
        // Parsed here first so that a mistake is reported without echoing the password.
        let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("the SMTP URL is not a URL: {e}"))?;
        let host = parsed.host_str().context("the SMTP URL has no host")?.to_string();
        let server = format!(
            "{}://{}:{}",
            parsed.scheme(),
            host,
            parsed.port().map_or_else(|| "default".into(), |p| p.to_string())
        );
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("the SMTP URL {server} is not usable: {e}"))?
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(ca_file) = ca_file {
            let pem =
                std::fs::read(ca_file).with_context(|| format!("reading the SMTP CA file {}", ca_file.display()))?;
            let ca = Certificate::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("the SMTP CA file {}: {e}", ca_file.display()))?;
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
                    // Never the text: it holds links and codes.
                    tracing::info!(id = mail.id, to = mail.to, file = %path.display(), "mail written to a file (no SMTP server configured)");
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

/// Writes one message as `<dir>/<time>-<id>.eml`, readable by Roster's user only: the folder is
/// made (or narrowed, if it exists) to 0700 and the file created 0600, never through a link.
async fn write_file(dir: &Path, id: i64, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let path = dir.join(format!("{stamp}-{id}.eml"));
    let (dir, file, bytes) = (dir.to_path_buf(), path.clone(), bytes.to_vec());
    tokio::task::spawn_blocking(move || write_private(&dir, &file, &bytes)).await.map_err(std::io::Error::other)??;
    Ok(path)
}

fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
    folder.create(dir)?;
    let mut options = std::fs::OpenOptions::new();
    // A message is written once: an existing file (or a planted link) is an error, not a target.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        // The folder may predate this version, or have been made by someone else's umask.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
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

    /// What a test's tracing subscriber wrote.
    #[derive(Clone, Default)]
    struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Log {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    impl std::io::Write for Log {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
        type Writer = Log;
        fn make_writer(&'a self) -> Log {
            self.clone()
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn mail_files_are_private_and_their_text_is_not_logged() {
        use std::os::unix::fs::PermissionsExt;
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("mail");
        // A folder left open by an earlier version (or a loose umask) is narrowed.
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let t = Transport::from_config(None, None, data.path()).unwrap();
        let from = parse_from("Roster <roster@localhost>").unwrap();
        let mail = Outgoing {
            id: 7,
            to: "ann@example.com",
            subject: "Reset",
            text: "open http://x/reset-password/SECRET-TOKEN",
        };
        let log = Log::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        let Sent::Done(Some(note)) = t.send(&from, &mail).await else { panic!("written") };
        drop(guard);
        let logged = log.text();
        assert!(
            logged.contains("mail written") && logged.contains("ann@example.com") && logged.contains("id=7"),
            "{logged}"
        );
        assert!(
            !logged.contains("SECRET-TOKEN") && !logged.contains("reset-password"),
            "the text is never logged: {logged}"
        );
        let path = PathBuf::from(note.trim_start_matches("written to "));
        assert!(std::fs::read_to_string(&path).unwrap().contains("SECRET-TOKEN"), "the file has the text");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "the file");
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700, "the folder");

        // A fresh data folder: the mail folder is made 0700.
        let fresh = tempfile::tempdir().unwrap();
        let t = Transport::from_config(None, None, &fresh.path().join("new")).unwrap();
        assert!(matches!(t.send(&from, &Outgoing { id: 8, ..mail }).await, Sent::Done(_)));
        let mode = std::fs::metadata(fresh.path().join("new/mail")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn the_sender_must_be_an_address() {
        assert!(parse_from("Roster <roster@localhost>").is_ok());
        assert!(parse_from("not an address").is_err());
    }
}
