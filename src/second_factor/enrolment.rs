//! One-time enrolment links. Seed 002 emails the TOTP QR code itself; Roster emails a link
//! instead, never the key: the link leads to a sign-in (the password is still needed) that sets
//! up the authenticator. It works once, for three days, and a newer link voids older ones.

use crate::activity::{self, Changes, Target};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::AccountRecord;
use crate::model::user::{UserRecord, UserStatus};
use crate::secrets::token;
use crate::state::AppState;
use crate::store::second_factor as store;
use crate::store::{Affects, Conn, accounts, users};

pub const LINK_HOURS: i64 = 72;

/// Queues the link for `user` in the caller's transaction; returns where it goes (masked), or
/// `None` when the user has no email address.
pub async fn queue(
    state: &AppState,
    conn: &mut Conn,
    account: &AccountRecord,
    user: &UserRecord,
    now: i64,
) -> Result<Option<String>> {
    let Some(email) = user.email.as_deref() else { return Ok(None) };
    let link_token = token::new_token();
    store::insert_enrolment_link(conn, user.id, &token::hash(&link_token), now, now + LINK_HOURS * 3_600_000).await?;
    let link = state.mail.link(&format!("/enrol/{link_token}"));
    let text = format!(
        "Hello {name},\n\nplease set up an authenticator app (Google or Microsoft Authenticator, or any TOTP app) \
         for your Roster sign-in at {account}. Open this link, sign in with your password, and scan the code \
         it shows:\n\n{link}\n\nThe link works once, for {LINK_HOURS} hours. Roster never sends the key itself by \
         email. If you did not expect this, tell your administrator.\n",
        name = user.display_name(),
        account = account.name,
    );
    let message = crate::mail::Message {
        to: email,
        subject: "Set up your authenticator app",
        text: &text,
        kind: "totp_enrolment",
    };
    crate::mail::enqueue(conn, account.id, &message).await?;
    Ok(Some(super::service::mask_email(email)))
}

/// Admin: email a user a link to set up their authenticator (only when they have one to set up).
pub async fn send(state: &AppState, principal: &crate::access::Principal, id: UserId) -> Result<String> {
    let (actor, account) = (&principal.actor, principal.account());
    if principal.is(id) {
        return Err(Error::Forbidden("set up your own authenticator under My Account".into()));
    }
    let now = now_ms();
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    let record = accounts::by_id(tx.conn(), account).await?.ok_or(Error::NotFound("account"))?;
    let user = crate::access::principal::reachable_user(tx.conn(), principal, id).await?.record;
    if user.totp_confirmed_at.is_some() {
        return Err(Error::invalid(
            "two_factor_method",
            "already_set_up",
            "this user has an authenticator; reset it first",
        ));
    }
    let required = store::is_admin(tx.conn(), id).await?
        || record.security.second_factor.required_for == crate::model::settings::RequiredFor::Everyone;
    if !user.two_factor_method.uses_totp() && !required {
        return Err(Error::invalid(
            "two_factor_method",
            "no_authenticator",
            "choose OTP Authenticator for this user first",
        ));
    }
    let sent_to = queue(state, tx.conn(), &record, &user, now)
        .await?
        .ok_or_else(|| Error::invalid("email", "required", "the user has no email address to send the link to"))?;
    activity::service::record(
        tx.conn(),
        actor,
        "user.totp_enrolment_sent",
        Target::user(id, &user.login),
        &Changes::new(),
    )
    .await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(sent_to)
}

/// The account and user a live link belongs to (the console's page shows who signs in).
pub async fn check(state: &AppState, link_token: &str) -> Result<(AccountRecord, UserRecord)> {
    let mut conn = state.store.read().await?;
    let gone =
        || Error::invalid("link", "used_or_expired", "this link was used already or has expired: sign in as usual");
    let user_id = store::enrolment_link_user(&mut conn, &token::hash(link_token), now_ms()).await?.ok_or_else(gone)?;
    let user = users::by_id(&mut conn, user_id).await?.ok_or_else(gone)?;
    let account = accounts::by_id(&mut conn, user.account_id).await?.ok_or_else(gone)?;
    if user.status != UserStatus::Active {
        return Err(gone());
    }
    Ok((account, user))
}
