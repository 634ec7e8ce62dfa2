//! Issuing and checking CAPTCHAs (R31): a picture or a question, answered once.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::{image, question};
use crate::activity::{self, Actor, Changes, Target, typed_login_label};
use crate::auth::ClientInfo;
use crate::error::Result;
use crate::ids::AccountId;
use crate::model::AccountRecord;
use crate::model::user::UserRecord;
use crate::secrets::token;
use crate::state::AppState;
use crate::store::{Affects, Conn, captcha as store, sign_in_failures};

/// How long a challenge may be answered.
pub const CHALLENGE_MS: i64 = 10 * 60_000;

/// Answers longer than this are wrong without being looked at.
const LONGEST_ANSWER: usize = 64;

/// What a sign-in sends back: the challenge it was given and the answer to the picture or
/// to the question.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptchaAnswer {
    pub challenge: String,
    pub answer: String,
}

/// A challenge to show.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// Sent back with the answer; also names the picture.
    pub challenge: String,
    /// The accessible alternative to the picture.
    pub question: String,
    pub expires_at: i64,
}

impl Challenge {
    pub fn image_path(&self) -> String {
        format!("/api/v1/auth/captcha/{}.png", self.challenge)
    }
}

/// The sign-in must answer this CAPTCHA first. `reason`: `required` (none was sent),
/// `wrong_answer`, or `expired` (the challenge is unknown, used or too old).
#[derive(Debug, Clone)]
pub struct Step {
    pub reason: &'static str,
    pub captcha: Challenge,
}

/// Whether a sign-in must show a CAPTCHA: the user's flag, or the account's policy for the
/// client's address.
async fn required(
    state: &AppState,
    account: &AccountRecord,
    user: Option<&UserRecord>,
    client: &ClientInfo,
    now: i64,
) -> Result<bool> {
    let policy = &account.security.captcha;
    if user.is_some_and(|u| u.captcha_required) || policy.always {
        return Ok(true);
    }
    let Some(address) = client.address.as_deref().filter(|_| policy.after_address_failures > 0) else {
        return Ok(false);
    };
    let window_ms = i64::from(account.security.lockout.window_minutes) * 60_000;
    let mut conn = state.store.read().await?;
    let failures = sign_in_failures::address_failures(&mut conn, address, now, window_ms).await?;
    Ok(policy.applies(failures))
}

/// Called by sign-in before any password work. `None`: no CAPTCHA is needed, or the one sent
/// was answered right (and is now used up). `Some`: answer the sign-in with this step.
pub async fn check(
    state: &AppState,
    account: Option<&AccountRecord>,
    user: Option<&UserRecord>,
    sent: Option<&CaptchaAnswer>,
    login: &str,
    client: &ClientInfo,
    now: i64,
) -> Result<Option<Step>> {
    // An unknown account has no policy; its sign-in fails as any other would.
    let Some(account) = account else { return Ok(None) };
    if !required(state, account, user, client, now).await? {
        return Ok(None);
    }
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let reason = match sent {
        None => "required",
        Some(sent) => {
            let hash = token::hash(&sent.challenge);
            match store::take(tx.conn(), &hash, account.id, now).await? {
                Some(answers) if is_right(&answers, &sent.challenge, &sent.answer) => {
                    tx.commit().await?;
                    return Ok(None);
                }
                Some(_) => "wrong_answer",
                None => "expired",
            }
        }
    };
    if reason != "required" {
        let label = user.map_or_else(|| typed_login_label(login), |u| u.login.clone());
        let actor = Actor { account: account.id, user: user.map(|u| u.id), label, address: client.address.clone() };
        let target = match user {
            Some(u) => Target::user(u.id, &u.login),
            None => Target { kind: "user", id: None, label: &actor.label },
        };
        let mut changes = Changes::new();
        changes.set("reason", reason);
        activity::service::record(tx.conn(), &actor, "auth.captcha_failed", target, &changes).await?;
    }
    let captcha = create(tx.conn(), account.id, now).await?;
    tx.commit().await?;
    Ok(Some(Step { reason, captcha }))
}

/// A fresh challenge for a sign-in to the account (the console's "new challenge").
pub async fn issue(state: &AppState, account: AccountId, now: i64) -> Result<Challenge> {
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let challenge = create(tx.conn(), account, now).await?;
    tx.commit().await?;
    Ok(challenge)
}

/// The picture of a live challenge.
pub async fn picture(state: &AppState, challenge: &str, now: i64) -> Result<Option<Vec<u8>>> {
    let mut conn = state.store.read().await?;
    Ok(store::image(&mut conn, &token::hash(challenge), now).await?)
}

async fn create(conn: &mut Conn, account: AccountId, now: i64) -> Result<Challenge> {
    // The generator is not Send: draw everything before the first await.
    let (text, question, png) = {
        let mut rng = rand::thread_rng();
        let text = image::text(&mut rng);
        let question = question::generate(&mut rng);
        let png = image::render(&text, &mut rng);
        (text, question, png)
    };
    let challenge = token::new_token();
    let answers =
        format!("{} {}", answer_hash(&challenge, &text), answer_hash(&challenge, &question.answer.to_string()));
    let expires_at = now + CHALLENGE_MS;
    let new = store::NewCaptcha {
        token_hash: &token::hash(&challenge),
        account,
        answer_hashes: &answers,
        image: &png,
        now,
        expires_at,
    };
    store::insert(conn, &new).await?;
    Ok(Challenge { challenge, question: question.text, expires_at })
}

/// SHA-256 of the normalised answer, salted with the challenge so that equal answers of two
/// challenges do not look alike.
fn answer_hash(challenge: &str, answer: &str) -> String {
    let mut h = Sha256::new();
    h.update(challenge.as_bytes());
    h.update(b"\n");
    h.update(question::normalise(answer).as_bytes());
    hex::encode(h.finalize())
}

fn is_right(stored: &str, challenge: &str, answer: &str) -> bool {
    if answer.trim().is_empty() || answer.len() > LONGEST_ANSWER {
        return false;
    }
    let given = answer_hash(challenge, answer);
    stored.split(' ').fold(false, |found, h| found | bool::from(h.as_bytes().ct_eq(given.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_answer_is_right_however_it_is_written() {
        let stored = format!("{} {}", answer_hash("c1", "K7HP3"), answer_hash("c1", "11"));
        for answer in ["K7HP3", "k7hp3", " k7 hp3 ", "11", "eleven", "Eleven ", "ELE-VEN"] {
            assert!(is_right(&stored, "c1", answer), "{answer}");
        }
        for answer in ["", "  ", "K7HP", "12", "twelve", "K7HP3 11"] {
            assert!(!is_right(&stored, "c1", answer), "{answer}");
        }
        // The hashes belong to their challenge.
        assert!(!is_right(&stored, "c2", "11"));
        assert!(!is_right(&stored, "c1", &"1".repeat(LONGEST_ANSWER + 1)));
    }
}
