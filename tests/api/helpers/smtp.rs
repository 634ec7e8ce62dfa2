//! A small SMTP server on 127.0.0.1 for the tests: Roster's mail code reaches it over TCP as
//! it would a real one. It speaks EHLO/HELO, AUTH PLAIN and LOGIN (and requires them), MAIL,
//! RCPT, DATA, RSET, NOOP and QUIT; it can be told to refuse the next messages with a 4xx or
//! 5xx answer, or to be down (nothing listening). What arrives is parsed with `mail-parser`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

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
}

impl Mailbox {
    pub async fn start() -> Mailbox {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the test SMTP server");
        let port = listener.local_addr().expect("address").port();
        let shared = Arc::new(Shared::default());
        let server = tokio::spawn(serve(listener, shared.clone()));
        Mailbox { shared, port, server: Mutex::new(Some(server)) }
    }

    /// `smtp://user:password@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{}", self.port)
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
        let server = tokio::spawn(serve(listener, self.shared.clone()));
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

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(session(stream, shared.clone()));
    }
}

/// One SMTP conversation; any I/O error ends it.
async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test.local ESMTP ready\r\n").await?;
    let mut auth_user: Option<String> = None;
    let mut from = String::new();
    let mut rcpts: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_line(&mut lines).await? else { return Ok(()) };
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-test.local\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 10485760".into()
        } else if upper.starts_with("HELO") {
            "250 test.local".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let encoded = match line.split_whitespace().nth(2) {
                Some(e) => e.to_string(),
                None => {
                    write.write_all(b"334 \r\n").await?;
                    read_line(&mut lines).await?.unwrap_or_default()
                }
            };
            let decoded = STANDARD.decode(encoded.trim()).unwrap_or_default();
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            let (user, pass) = match parts.as_slice() {
                [_, user, pass] => (String::from_utf8_lossy(user).to_string(), String::from_utf8_lossy(pass).to_string()),
                _ => Default::default(),
            };
            authenticate(&mut auth_user, user, pass)
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let user = decode(&read_line(&mut lines).await?.unwrap_or_default());
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
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
                    if code >= 500 { format!("{code} 5.1.1 Mailbox unavailable") } else { format!("{code} 4.3.0 Try again later") }
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
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let Some(l) = read_line(&mut lines).await? else { return Ok(()) };
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
                        received.push(ReceivedMail { to, from: from.clone(), subject: subject.clone(), text: text.clone(), auth_user: auth_user.clone() });
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
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 Command not recognised".into()
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
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

async fn read_line(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if lines.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}
