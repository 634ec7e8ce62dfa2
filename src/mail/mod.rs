//! Mail (issue 4): a durable outbox in the database and a worker that delivers it.
//!
//! Other capabilities queue a message inside their own transaction with [`enqueue`], so it is
//! sent only if their change commits, and call `state.mail.wake()` after the commit so the
//! worker starts at once. The worker (one per instance) also polls, for retries that fall due
//! and for messages queued by other instances. Each message is claimed by one worker at a time
//! (see `store::mail`), so it is sent once even with several instances.

pub mod transport;

use tokio::sync::Notify;

use crate::clock::now_ms;
use crate::config::Config;
use crate::error::Result;
use crate::ids::AccountId;
use crate::store::Conn;
use crate::store::mail::{self as store, NewMail};

pub use transport::Transport;

/// A message to queue. `kind` names what it is for (`password_reset`, `second_factor_code`,
/// `totp_enrolment`, …); the outbox view shows it.
pub struct Message<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub kind: &'a str,
}

/// What a message is for, which decides whether a user's "receive email" flag (R11) holds it
/// back: mail that lets someone in or keeps their access safe is always sent; a notice is sent
/// only to users who receive email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Password resets, sign-in codes, authenticator enrolment links, invitations, and the
    /// notices of changes to an admin's address or second factor.
    Access,
    /// Everything else Roster sends: so far, an agent's notice that they joined a queue.
    Notice,
}

/// The kinds of mail that are about access; any other kind is a notice.
pub const ACCESS_KINDS: [&str; 5] =
    ["password_reset", "second_factor_code", "totp_enrolment", "admin_factor_changed", "invitation"];

pub fn purpose(kind: &str) -> Purpose {
    if ACCESS_KINDS.contains(&kind) { Purpose::Access } else { Purpose::Notice }
}

/// Queues a notice to a user in the caller's transaction, unless they receive no email (R11)
/// or have no address; returns whether it was queued.
pub async fn notify(
    conn: &mut Conn,
    user: &crate::model::user::UserRecord,
    subject: &str,
    text: &str,
    kind: &str,
) -> Result<bool> {
    debug_assert_eq!(purpose(kind), Purpose::Notice, "{kind} is mail about access: enqueue it");
    let active = user.status == crate::model::user::UserStatus::Active;
    let Some(to) = user.email.as_deref().filter(|_| user.receive_email && active) else { return Ok(false) };
    insert(conn, user.account_id, &Message { to, subject, text, kind }).await?;
    Ok(true)
}

/// Queues a message about access inside the caller's transaction: it is sent only if that
/// transaction commits. Notices go through [`notify`], which asks the user's flag first.
pub async fn enqueue(conn: &mut Conn, account: AccountId, message: &Message<'_>) -> Result<i64> {
    debug_assert_eq!(purpose(message.kind), Purpose::Access, "{} is a notice: use notify", message.kind);
    insert(conn, account, message).await
}

async fn insert(conn: &mut Conn, account: AccountId, message: &Message<'_>) -> Result<i64> {
    let mail = NewMail {
        account,
        to: message.to,
        subject: message.subject,
        body: message.text,
        kind: message.kind,
        now: now_ms(),
    };
    Ok(store::insert(conn, &mail).await?)
}

/// The instance's side of mail: how it sends, and the bell that wakes its worker.
pub struct Mailer {
    pub(crate) transport: Transport,
    pub(crate) from: lettre::message::Mailbox,
    pub(crate) wake: Notify,
    /// Set at shutdown: the worker finishes what it holds and stops.
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
    /// Who holds a claim: unique per process, so a restarted instance is someone new.
    pub(crate) instance: String,
    pub(crate) retry_base_ms: i64,
    pub(crate) link_base: String,
}

impl Mailer {
    /// `link_base`: where people reach this server (`public_url`, else the bound address).
    pub fn new(config: &Config, link_base: String) -> anyhow::Result<Mailer> {
        let transport =
            Transport::from_config(config.smtp_url.as_ref(), config.smtp_ca_file.as_deref(), &config.data_dir)?;
        let from = transport::parse_from(&config.mail_from)?;
        Ok(Mailer {
            transport,
            from,
            wake: Notify::new(),
            stop: tokio::sync::watch::Sender::new(false),
            instance: format!("{}-{}", std::process::id(), crate::secrets::token::new_token().get(..8).unwrap_or("x")),
            retry_base_ms: i64::try_from(config.mail_retry_base_ms.max(1)).unwrap_or(i64::MAX),
            link_base: link_base.trim_end_matches('/').to_string(),
        })
    }

    /// Starts delivery now (call after the transaction that queued mail committed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks the worker to stop once the messages it holds are recorded.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// An absolute link to a path of this server: in mail, and the redirect URI given to
    /// identity providers.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.link_base)
    }

    pub fn describe(&self) -> String {
        self.transport.describe()
    }
}

/// How long to wait after the `attempts`-th failed attempt: with the default base of 30 s,
/// 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h.
pub fn backoff_ms(base_ms: i64, attempts: i64) -> i64 {
    const FACTORS: [i64; 7] = [1, 4, 20, 60, 120, 240, 480];
    let i = usize::try_from(attempts.max(1) - 1).unwrap_or(0).min(FACTORS.len() - 1);
    base_ms.saturating_mul(FACTORS[i])
}

/// After this many attempts a message is failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// A failed message keeps its text this long, so that an admin can retry it; then it is
/// failed for good and the text (codes, links) is erased.
pub const RETRY_WINDOW_MS: i64 = 24 * 3_600_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_then_stays() {
        let base = 30_000;
        let waits: Vec<i64> = (1..=9).map(|n| backoff_ms(base, n)).collect();
        assert_eq!(&waits[..5], &[30_000, 120_000, 600_000, 1_800_000, 3_600_000]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(waits[8], waits[7], "the last step repeats");
        assert_eq!(backoff_ms(base, 0), 30_000);
    }

    #[test]
    fn mail_about_access_is_told_from_notices() {
        for kind in ACCESS_KINDS {
            assert_eq!(purpose(kind), Purpose::Access, "{kind}");
        }
        assert_eq!(purpose("queue_joined"), Purpose::Notice);
    }
}
