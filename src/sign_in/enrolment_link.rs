//! Signing in through an enrolment link: the password as at any sign-in, then the
//! authenticator's set-up; the link is spent once the password was right.

use secrecy::SecretString;

use crate::clock::now_ms;
use crate::error::Result;
use crate::model::{ClientInfo, SessionKind};
use crate::second_factor::enrolment::check;
use crate::secrets::token;
use crate::sign_in::service::{Outcome, SignInRequest};
use crate::state::AppState;
use crate::store::Affects;
use crate::store::second_factor as store;

/// Signs in through a link: the password as at any sign-in (its steps follow, the set-up among
/// them); the link is spent once the password was right.
pub async fn sign_in(
    state: &AppState,
    link_token: &str,
    password: SecretString,
    take_over: bool,
    device: Option<&str>,
    captcha: Option<crate::captcha::service::CaptchaAnswer>,
    client: &ClientInfo,
) -> Result<Outcome> {
    let (account, user) = check(state, link_token).await?;
    let request = SignInRequest {
        account: &account.slug,
        login: &user.login,
        password,
        kind: SessionKind::Console,
        take_over,
        device,
        captcha,
    };
    let outcome = crate::sign_in::sign_in(state, request, client).await?;
    if matches!(outcome, Outcome::Captcha(_)) {
        // The password was not checked yet: the link stays good.
        return Ok(outcome);
    }
    let mut tx = state.store.begin().await?;
    tx.affects(Affects::Nothing);
    store::use_enrolment_link(tx.conn(), &token::hash(link_token), now_ms()).await?;
    tx.commit().await?;
    Ok(outcome)
}
