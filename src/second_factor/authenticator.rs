//! A user's authenticator app: its sealed secret opened, and what an app needs to set it up.

use base64::Engine;

use super::qr;
use super::totp::TotpSecret;
use crate::error::{Error, Result};
use crate::model::AccountRecord;
use crate::model::user::UserRecord;
use crate::state::AppState;

pub fn open(state: &AppState, user: crate::ids::UserId, sealed: &str) -> Result<TotpSecret> {
    let owner = crate::secrets::Owner::totp_secret(user);
    Ok(TotpSecret::from_base32(state.secrets.open(owner, sealed).map_err(Error::Internal)?))
}

/// What an authenticator app needs to be set up: the secret, its URI and the URI as QR codes.
pub struct SetupDetails {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
    pub qr_png_base64: String,
}

pub fn details(secret: &TotpSecret, account: &AccountRecord, user: &UserRecord) -> Result<SetupDetails> {
    let label = user.email.clone().unwrap_or_else(|| user.login.clone());
    let uri = secret.uri(&format!("Roster {}", account.name), &label)?;
    Ok(SetupDetails {
        secret: secret.base32().to_string(),
        qr_svg: qr::svg(&uri)?,
        qr_png_base64: base64::engine::general_purpose::STANDARD.encode(qr::png(&uri)?),
        uri,
    })
}
