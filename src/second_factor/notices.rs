//! D6: notices to admins about changes to how they sign in. When someone else changes an admin's
//! email address or second-factor method, the admin hears of it at the address they had, so a
//! take-over through a fellow admin's (or a stolen) session does not go unseen.

use crate::clock::{now_ms, to_rfc3339};
use crate::error::{Error, Result};
use crate::ids::{AccountId, UserId};
use crate::store::{Conn, accounts};

/// The outbox's name for these messages.
pub const KIND: &str = "admin_factor_changed";

/// D6: tells an admin at their old address that their email or second-factor method was changed by someone else.
///
/// Queues a plain-text message in the caller's transaction (sent only if it commits); the caller
/// wakes the mail worker after the commit (`state.mail.wake()`). `what` says what changed
/// (`"email"` or `"second-factor method"`), `by` who changed it (the actor's label). The message
/// names neither the new address nor the new method, and carries no link, code or key.
pub async fn admin_factor_changed(
    conn: &mut Conn,
    account: AccountId,
    user: UserId,
    login: &str,
    old_email: &str,
    what: &str,
    by: &str,
) -> Result<()> {
    let old_email = old_email.trim();
    if old_email.is_empty() {
        return Err(Error::invalid("email", "required", "there is no old address to tell"));
    }
    let account_name = accounts::by_id(conn, account).await?.map(|a| a.name).unwrap_or_default();
    let text = message_text(&account_name, login, what, by, &to_rfc3339(now_ms()));
    let subject = format!("Your {} was changed", one_line(what, 40));
    let message = crate::mail::Message { to: old_email, subject: &subject, text: &text, kind: KIND };
    crate::mail::enqueue(conn, account, &message).await?;
    tracing::info!(user = user.0, what = one_line(what, 40), "admin told of a change to how they sign in");
    Ok(())
}

/// The text of the notice. Values that come from people (login, actor label, account name) are
/// put on one line each and cut short, so they cannot shape the message.
fn message_text(account_name: &str, login: &str, what: &str, by: &str, when: &str) -> String {
    let account = match one_line(account_name, 120) {
        name if name.is_empty() => String::new(),
        name => format!(" at {name}"),
    };
    format!(
        "Hello {login},\n\n\
         the {what} of your Roster admin sign-in{account} was changed by {by} on {when} (UTC).\n\n\
         We write to this address, the one you had before, so that you hear of it even if the \
         change was not yours to make. If you expected it, there is nothing to do.\n\n\
         If you did not expect it, contact another admin of your organisation at once: they can \
         check who made the change, end sessions and set things right. Do not reply to this message.\n",
        login = one_line(login, 64),
        what = one_line(what, 40),
        by = one_line(by, 120),
    )
}

/// `s` without control characters (line breaks among them), at most `max` characters.
fn one_line(s: &str, max: usize) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect::<String>().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_says_what_who_and_when_and_whom_to_ask() {
        let text = message_text("Acme", "ada", "email", "bob", "2025-01-02T03:04:05Z");
        assert!(text.starts_with("Hello ada,"), "{text}");
        assert!(
            text.contains("the email of your Roster admin sign-in at Acme was changed by bob on 2025-01-02T03:04:05Z"),
            "{text}"
        );
        assert!(text.contains("contact another admin"), "{text}");
        let method = message_text("", "ada", "second-factor method", "api token pbx", "2025-01-02T03:04:05Z");
        assert!(
            method.contains("the second-factor method of your Roster admin sign-in was changed by api token pbx"),
            "{method}"
        );
    }

    #[test]
    fn values_cannot_add_lines() {
        let text =
            message_text("Acme\r\nBcc: x@example.com", "ada", "email", "bob\n\nClick http://evil.example", "now");
        assert!(!text.contains("\nBcc") && !text.contains("\nClick"), "{text}");
        assert_eq!(one_line(&"x".repeat(500), 120).len(), 120);
    }
}
