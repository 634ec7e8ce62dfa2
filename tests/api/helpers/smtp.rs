//! A small SMTP server on 127.0.0.1 for the tests: Roster's mail code reaches it over TCP as
//! it would a real one. It speaks EHLO/HELO, AUTH PLAIN and LOGIN (and requires them), MAIL,
//! RCPT, DATA, RSET, NOOP and QUIT; it can be told to refuse the next messages with a 4xx or
//! 5xx answer, or to be down (nothing listening). What arrives is parsed with `mail-parser`.
//! `Mailbox::start_tls` makes it speak TLS, implicit or by STARTTLS (see `smtp_tls`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::smtp_tls::{SmtpTls, TlsSetup};

pub const SMTP_USER: &str = "roster-mailer";
pub const SMTP_PASSWORD: &str = "smtp-Secret-77";
/// How long `wait_for` waits for mail (the worker sends at once when woken).
const PATIENCE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope recipient.
    pub to: String,
    pub from: String,
    pub subject: String,
    pub text: String,
    /// Who authenticated for it.
    pub auth_user: Option<String>,
    /// What happened in the SMTP session that brought it, in order: the commands' verbs
    /// (`EHLO`, `STARTTLS`, `AUTH`, `MAIL`…) and `TLS` where a TLS handshake completed.
    pub session: Vec<String>,
}

impl ReceivedMail {
    /// The first `http(s)://…` link in the text.
    pub fn link(&self) -> String {
        let start = self.text.find("http").unwrap_or_else(|| panic!("no link in {:?}", self.text));
        self.text[start..].split_whitespace().next().unwrap_or_default().to_string()
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<ReceivedMail>>,
    /// How many of `received` `wait_for` has handed out already, per recipient order.
    taken: Mutex<Vec<bool>>,
    arrived: Notify,
    /// Refuse the next `n` messages (at RCPT) with this code.
    reject: Mutex<Option<(u16, usize)>>,
}

pub struct Mailbox {
    shared: Arc<Shared>,
    pub port: u16,
    server: Mutex<Option<JoinHandle<()>>>,
    tls: Option<Arc<TlsSetup>>,
}

impl Mailbox {
    pub async fn start() -> Mailbox {
        Mailbox::listen(None).await
    }

    /// A server that speaks TLS (`mode`) with a certificate from a CA made for it (`ca_file`).
    pub async fn start_tls(mode: SmtpTls) -> Mailbox {
        Mailbox::listen(Some(Arc::new(TlsSetup::new(mode)))).await
    }

    async fn listen(tls: Option<Arc<TlsSetup>>) -> Mailbox {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the test SMTP server");
        let port = listener.local_addr().expect("address").port();
        let shared = Arc::new(Shared::default());
        let server = tokio::spawn(serve(listener, shared.clone(), tls.clone()));
        Mailbox { shared, port, server: Mutex::new(Some(server)), tls }
    }

    /// `smtp://user:password@127.0.0.1:PORT`; with TLS `…?tls=required` (STARTTLS) or `smtps://…`.
    pub fn url(&self) -> String {
        let (scheme, query) = match self.tls.as_ref().map(|t| t.mode) {
            None => ("smtp", ""),
            Some(SmtpTls::StartTls) => ("smtp", "?tls=required"),
            Some(SmtpTls::Implicit) => ("smtps", ""),
        };
        format!("{scheme}://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{}{query}", self.port)
    }

    /// The PEM file of the CA that signed a TLS server's certificate (for `smtp_ca_file`).
    pub fn ca_file(&self) -> PathBuf {
        self.tls.as_ref().expect("a TLS mailbox (start_tls)").ca_file()
    }

    /// Everything that arrived, in order.
    pub fn all(&self) -> Vec<ReceivedMail> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits (up to 15 s) for a message to `to` that no earlier `wait_for` returned, and returns it.
    pub async fn wait_for(&self, to: &str) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let notified = self.shared.arrived.notified();
            {
                let received = self.shared.received.lock().unwrap();
                let mut taken = self.shared.taken.lock().unwrap();
                taken.resize(received.len(), false);
                if let Some(i) = (0..received.len()).find(|&i| !taken[i] && received[i].to.eq_ignore_ascii_case(to)) {
                    taken[i] = true;
                    return received[i].clone();
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no mail to {to} within {PATIENCE:?}; arrived: {:?}", self.all());
            }
        }
    }

    /// Refuses the next `times` messages with `code` (e.g. 451: try later; 550: never).
    pub fn reject_next(&self, code: u16, times: usize) {
        *self.shared.reject.lock().unwrap() = Some((code, times));
    }

    /// Stops listening: connections are refused until `up`.
    pub async fn down(&self) {
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            server.abort();
            let _ = server.await;
        }
    }

    /// Listens again on the same port.
    pub async fn up(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.expect("listening again on the same port");
        let server = tokio::spawn(serve(listener, self.shared.clone(), self.tls.clone()));
        *self.server.lock().unwrap() = Some(server);
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, tls: Option<Arc<TlsSetup>>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(connection(stream, shared.clone(), tls.clone()));
    }
}

/// Where a conversation stands with TLS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// No TLS on this server.
    Plain,
    /// Plain, offering STARTTLS; AUTH waits for it.
    BeforeStartTls,
    /// Upgraded by STARTTLS: no new greeting.
    Upgraded,
    /// Implicit TLS.
    Implicit,
}

/// One connection; any I/O error (a refused certificate among them) ends it.
async fn connection(tcp: TcpStream, shared: Arc<Shared>, tls: Option<Arc<TlsSetup>>) -> std::io::Result<()> {
    let mut session = Vec::new();
    let Some(tls) = tls else {
        converse(tcp, &shared, Stage::Plain, &mut session).await?;
        return Ok(());
    };
    let (tcp, stage) = match tls.mode {
        SmtpTls::Implicit => (tcp, Stage::Implicit),
        SmtpTls::StartTls => match converse(tcp, &shared, Stage::BeforeStartTls, &mut session).await? {
            Some(tcp) => (tcp, Stage::Upgraded),
            None => return Ok(()),
        },
    };
    let stream = tls.acceptor.accept(tcp).await?;
    session.push("TLS".into());
    converse(stream, &shared, stage, &mut session).await?;
    Ok(())
}

/// One SMTP conversation over `stream`; returns the stream when the client asked for STARTTLS.
async fn converse<S>(stream: S, shared: &Shared, stage: Stage, session: &mut Vec<String>) -> std::io::Result<Option<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut lines = BufReader::new(stream);
    if stage != Stage::Upgraded {
        send(&mut lines, "220 test.local ESMTP ready").await?;
    }
    let mut auth_user: Option<String> = None;
    let mut from = String::new();
    let mut rcpts: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_line(&mut lines).await? else { return Ok(None) };
        let upper = line.to_ascii_uppercase();
        session.push(upper.split_whitespace().next().unwrap_or_default().to_string());
        let reply: String = if upper.starts_with("EHLO") && stage == Stage::BeforeStartTls {
            "250-test.local\r\n250-STARTTLS\r\n250-8BITMIME\r\n250 SIZE 10485760".into()
        } else if upper.starts_with("EHLO") {
            "250-test.local\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 10485760".into()
        } else if upper.starts_with("HELO") {
            "250 test.local".into()
        } else if upper == "STARTTLS" && stage == Stage::BeforeStartTls {
            send(&mut lines, "220 2.0.0 Ready to start TLS").await?;
            return Ok(Some(lines.into_inner()));
        } else if upper.starts_with("AUTH") && stage == Stage::BeforeStartTls {
            "530 5.7.0 Must issue a STARTTLS command first".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let encoded = match line.split_whitespace().nth(2) {
                Some(e) => e.to_string(),
                None => {
                    send(&mut lines, "334 ").await?;
                    read_line(&mut lines).await?.unwrap_or_default()
                }
            };
            let decoded = STANDARD.decode(encoded.trim()).unwrap_or_default();
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            let (user, pass) = match parts.as_slice() {
                [_, user, pass] => {
                    (String::from_utf8_lossy(user).to_string(), String::from_utf8_lossy(pass).to_string())
                }
                _ => Default::default(),
            };
            authenticate(&mut auth_user, user, pass)
        } else if upper.starts_with("AUTH LOGIN") {
            send(&mut lines, "334 VXNlcm5hbWU6").await?;
            let user = decode(&read_line(&mut lines).await?.unwrap_or_default());
            send(&mut lines, "334 UGFzc3dvcmQ6").await?;
            let pass = decode(&read_line(&mut lines).await?.unwrap_or_default());
            authenticate(&mut auth_user, user, pass)
        } else if upper.starts_with("MAIL FROM:") {
            if auth_user.is_none() {
                "530 5.7.0 Authentication required".into()
            } else {
                from = address(&line["MAIL FROM:".len()..]);
                rcpts.clear();
                "250 2.1.0 OK".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            let mut reject = shared.reject.lock().unwrap();
            match reject.as_mut() {
                Some((code, n)) if *n > 0 => {
                    *n -= 1;
                    let code = *code;
                    if code >= 500 {
                        format!("{code} 5.1.1 Mailbox unavailable")
                    } else {
                        format!("{code} 4.3.0 Try again later")
                    }
                }
                _ => {
                    rcpts.push(address(&line["RCPT TO:".len()..]));
                    "250 2.1.5 OK".into()
                }
            }
        } else if upper == "DATA" {
            if rcpts.is_empty() {
                "554 5.5.1 No valid recipients".into()
            } else {
                send(&mut lines, "354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = Vec::new();
                loop {
                    let Some(l) = read_line(&mut lines).await? else { return Ok(None) };
                    if l == "." {
                        break;
                    }
                    let l = l.strip_prefix('.').unwrap_or(&l);
                    data.extend_from_slice(l.as_bytes());
                    data.extend_from_slice(b"\r\n");
                }
                let parsed = mail_parser::MessageParser::default().parse(&data);
                let subject = parsed.as_ref().and_then(|m| m.subject()).unwrap_or_default().to_string();
                let text = parsed.as_ref().and_then(|m| m.body_text(0)).map(|t| t.to_string()).unwrap_or_default();
                {
                    let mut received = shared.received.lock().unwrap();
                    for to in rcpts.drain(..) {
                        received.push(ReceivedMail {
                            to,
                            from: from.clone(),
                            subject: subject.clone(),
                            text: text.clone(),
                            auth_user: auth_user.clone(),
                            session: session.clone(),
                        });
                    }
                }
                shared.arrived.notify_waiters();
                "250 2.0.0 Queued".into()
            }
        } else if upper == "RSET" {
            rcpts.clear();
            "250 2.0.0 OK".into()
        } else if upper == "NOOP" {
            "250 2.0.0 OK".into()
        } else if upper == "QUIT" {
            send(&mut lines, "221 2.0.0 Bye").await?;
            return Ok(None);
        } else {
            "502 5.5.2 Command not recognised".into()
        };
        send(&mut lines, &reply).await?;
    }
}

/// One reply (lines joined by CRLF), flushed: over TLS it must leave now.
async fn send<S: AsyncWrite + Unpin>(out: &mut S, reply: &str) -> std::io::Result<()> {
    out.write_all(format!("{reply}\r\n").as_bytes()).await?;
    out.flush().await
}

fn authenticate(auth_user: &mut Option<String>, user: String, pass: String) -> String {
    if user == SMTP_USER && pass == SMTP_PASSWORD {
        *auth_user = Some(user);
        "235 2.7.0 Authentication successful".into()
    } else {
        "535 5.7.8 Authentication credentials invalid".into()
    }
}

fn decode(b64: &str) -> String {
    String::from_utf8_lossy(&STANDARD.decode(b64.trim()).unwrap_or_default()).to_string()
}

/// `<a@b>` (with optional parameters after it) → `a@b`.
fn address(rest: &str) -> String {
    let rest = rest.trim();
    match (rest.find('<'), rest.find('>')) {
        (Some(a), Some(b)) if a < b => rest[a + 1..b].to_string(),
        _ => rest.split_whitespace().next().unwrap_or_default().to_string(),
    }
}

async fn read_line(lines: &mut (impl AsyncBufRead + Unpin)) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if lines.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}
