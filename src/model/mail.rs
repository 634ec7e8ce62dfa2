//! Where a queued message is in its life (R32).

/// A message in the outbox: waiting (`queued`), claimed by a worker (`sending`), delivered
/// (`sent`), or given up on (`failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailState {
    Queued,
    Sending,
    Sent,
    Failed,
}

impl MailState {
    pub const ALL: [MailState; 4] = [MailState::Queued, MailState::Sending, MailState::Sent, MailState::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            MailState::Queued => "queued",
            MailState::Sending => "sending",
            MailState::Sent => "sent",
            MailState::Failed => "failed",
        }
    }
}

super::stored_as_text!(MailState, "mail state");
