//! TEMPORARY placeholder until the mail branch (outbox + SMTP) is merged; replaced wholesale.
use crate::error::Result;
use crate::ids::AccountId;
use crate::store::Conn;

pub struct Message<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub kind: &'a str,
}

pub async fn enqueue(_conn: &mut Conn, _account: AccountId, message: &Message<'_>) -> Result<i64> {
    tracing::info!(to = message.to, subject = message.subject, text = message.text, "mail (placeholder)");
    Ok(0)
}

#[derive(Default)]
pub struct Mailer;

impl Mailer {
    pub fn wake(&self) {}

    pub fn link(&self, path: &str) -> String {
        format!("http://127.0.0.1:8080{path}")
    }
}
