//! `POST /api/v1/auth/login`, `POST /api/v1/auth/password-change`, `POST /api/v1/auth/logout`,
//! `GET /api/v1/session`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::second_factor;
use super::service::{Outcome, SignInRequest};
use crate::clock::{Timestamp, to_rfc3339};
use crate::error::{Error, Result};
use crate::http::ApiJson;
use crate::model::SessionKind;
use crate::model::{Caller, ClientInfo};
use crate::second_factor::api::TotpSetup;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(password_change))
        .routes(routes!(logout))
        .routes(routes!(session))
        .routes(routes!(verify))
        .routes(routes!(email_code))
        .routes(routes!(setup))
        .routes(routes!(confirm_setup))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's slug (`default` for the first one).
    account: String,
    login: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    /// `api` (the default) for programs, `phone` for phones; phone sessions time out after
    /// the account's phone inactivity period (R34).
    #[serde(default)]
    kind: Option<String>,
    /// With the one-session policy (R33): end the session open elsewhere and sign in here.
    #[serde(default)]
    take_over: bool,
    /// The `device` token an earlier sign-in returned: a known device is not "suspicious" (R30).
    #[serde(default)]
    device: Option<String>,
    /// The answer to the CAPTCHA of a `captcha` step (R31), sent with the credentials again.
    #[serde(default)]
    captcha: Option<crate::captcha::service::CaptchaAnswer>,
}

/// Signed in (`token`), or a step still to take (`step` with its `challenge`).
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    expires_at: String,
    /// `second_factor`: post a code to `/api/v1/auth/second-factor`; `totp_setup`: get the
    /// authenticator from `/api/v1/auth/totp-setup` and confirm a code at `…/totp-setup/confirm`;
    /// `password_change`: post a new password to `/api/v1/auth/password-change`. Each with the challenge.
    /// `captcha`: show `image` (or, as its accessible alternative, `question`) and sign in again
    /// with `captcha: {challenge, answer}`; the password was not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<&'static str>,
    /// Why the step is needed: for `password_change` `required` (set by an admin) or `expired`
    /// (R24); for `second_factor` `always` or what is new (`new_device,new_address,new_country`);
    /// for `totp_setup` `admin_required` (R27), `account_required` or `not_set_up`; for `captcha`
    /// `required`, `expired` (the challenge sent is unknown, used or too old) or `wrong_answer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge: Option<String>,
    /// `second_factor`: the methods the code may come from (`totp`, `email`, `recovery_code`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    methods: Vec<&'static str>,
    /// Where an emailed code was sent (masked), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    email_sent_to: Option<String>,
    /// Ten recovery codes, shown once, after the authenticator was set up.
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_codes: Option<Vec<String>>,
    /// A device token to keep and send as `device` at the next sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<String>,
    /// The CAPTCHA's picture (`captcha` step).
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    /// The CAPTCHA's question in words, for those who cannot see the picture (`captcha` step).
    #[serde(skip_serializing_if = "Option::is_none")]
    question: Option<String>,
}

impl From<Outcome> for LoginResponse {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::SignedIn(s) => LoginResponse {
                token: Some(s.token),
                expires_at: to_rfc3339(s.expires_at),
                step: None,
                reason: None,
                challenge: None,
                methods: Vec::new(),
                email_sent_to: None,
                recovery_codes: s.recovery_codes,
                device: s.device,
                image: None,
                question: None,
            },
            Outcome::Step(p) => LoginResponse {
                token: None,
                expires_at: to_rfc3339(p.expires_at),
                step: Some(p.step.as_str()),
                reason: Some(p.reason),
                challenge: Some(p.challenge),
                methods: p.methods,
                email_sent_to: p.email_sent_to,
                recovery_codes: p.recovery_codes,
                device: None,
                image: None,
                question: None,
            },
            Outcome::Captcha(c) => LoginResponse {
                token: None,
                expires_at: to_rfc3339(c.captcha.expires_at),
                step: Some("captcha"),
                reason: Some(c.reason.to_string()),
                image: Some(c.captcha.image_path()),
                question: Some(c.captcha.question),
                challenge: Some(c.captcha.challenge),
                methods: Vec::new(),
                email_sent_to: None,
                recovery_codes: None,
                device: None,
            },
        }
    }
}

/// Sign in with login and password; returns a bearer token or the next step.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, description = "Sign-in refused (the same answer whatever the reason)", body = crate::error::Problem),
        (status = 409, description = "Signed in elsewhere under the one-session policy (code session_active)", body = crate::error::Problem),
        (status = 429, description = "Too many failures from this address; see Retry-After", body = crate::error::Problem)))]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let kind = match req.kind.as_deref() {
        None | Some("api") => SessionKind::Api,
        Some("phone") => SessionKind::Phone,
        Some(_) => return Err(Error::invalid("kind", "unknown", "must be api or phone")),
    };
    let request = SignInRequest {
        account: &req.account,
        login: &req.login,
        password: req.password,
        kind,
        take_over: req.take_over,
        device: req.device.as_deref(),
        captcha: req.captcha,
    };
    Ok(Json(super::service::sign_in(&state, request, &client).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    /// From the login answer with `step: password_change`.
    challenge: String,
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
}

/// Complete a sign-in that must change its password first.
#[utoipa::path(post, path = "/api/v1/auth/password-change", tag = "auth", request_body = PasswordChangeRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, description = "Unknown, used or expired challenge", body = crate::error::Problem),
        (status = 422, description = "The new password breaks the account's policy", body = crate::error::Problem)))]
async fn password_change(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<PasswordChangeRequest>,
) -> Result<Json<LoginResponse>> {
    let signed_in = super::service::complete_password_change(&state, &req.challenge, req.new_password, &client).await?;
    Ok(Json(Outcome::SignedIn(signed_in).into()))
}

/// End the session the request is made with.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = crate::error::Problem),
        (status = 409, description = "An API token is revoked, not signed out", body = crate::error::Problem)))]
async fn logout(State(state): State<AppState>, caller: Caller, client: ClientInfo) -> Result<StatusCode> {
    super::service::sign_out(&state, &caller, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct SessionInfo {
    user: SessionUser,
    account: SessionAccount,
    roles: Vec<String>,
    /// Effective permissions: through roles, groups' roles and direct grants (for an API
    /// token: those it was given that its creator still holds).
    permissions: Vec<String>,
    platform_operator: bool,
    /// When the session ends unless used again (inactivity), or at the latest; `null` for an
    /// API token that does not expire.
    expires_at: Option<String>,
    /// `console`, `api`, `phone` or `api_token`.
    kind: &'static str,
    /// The session's id (for an API token, the token's id).
    session_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SessionUser {
    id: i64,
    login: String,
    display_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionAccount {
    id: i64,
    slug: String,
}

/// Who the bearer is: user, account, roles, effective permissions, expiry. Other PBX
/// components validate tokens here.
#[utoipa::path(get, path = "/api/v1/session", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionInfo), (status = 401, body = crate::error::Problem)))]
async fn session(caller: Caller) -> Json<SessionInfo> {
    let permissions = if caller.platform_operator {
        crate::access::Permission::ALL.iter().map(|p| p.as_str().to_string()).collect()
    } else {
        caller.permissions.iter().map(|p| p.as_str().to_string()).collect()
    };
    Json(SessionInfo {
        session_id: caller.api_token.unwrap_or(caller.session.0),
        kind: caller.session_kind.as_str(),
        user: SessionUser { id: caller.user.0, login: caller.login, display_name: caller.display_name },
        account: SessionAccount { id: caller.account.0, slug: caller.account_slug },
        roles: caller.roles.to_vec(),
        permissions,
        platform_operator: caller.platform_operator,
        expires_at: caller.session_expires_at.map(Timestamp::to_rfc3339),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// From the login answer with `step: second_factor`.
    challenge: String,
    /// A code from the authenticator app, the emailed code, or a recovery code.
    code: String,
    /// `totp`, `email` or `recovery_code`; guessed from the code when left out.
    #[serde(default)]
    method: Option<String>,
}

/// Complete the second-factor step of a sign-in.
#[utoipa::path(post, path = "/api/v1/auth/second-factor", tag = "auth", request_body = CodeRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, description = "Unknown, used or expired challenge, too many wrong codes, or the user is locked (wrong codes count toward the lockout, D5)", body = crate::error::Problem),
        (status = 422, description = "Wrong, already used or expired code (field `code`); a method not offered (field `method`: `not_offered`, or `authenticator_required` for an emailed code from an admin with an authenticator, D6)", body = crate::error::Problem),
        (status = 429, description = "The address is refused after too many failures; see Retry-After", body = crate::error::Problem)))]
async fn verify(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<LoginResponse>> {
    Ok(Json(second_factor::verify(&state, &req.challenge, &req.code, req.method.as_deref(), &client).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    challenge: String,
}

#[derive(Serialize, ToSchema)]
pub struct EmailCodeSent {
    /// The address the code went to, masked.
    sent_to: String,
    expires_at: String,
}

/// Email a code for the second-factor step (again). At most one every 30 seconds, five per sign-in.
/// Never to an admin who has an authenticator (D6: `authenticator_required`).
#[utoipa::path(post, path = "/api/v1/auth/second-factor/email", tag = "auth", request_body = ChallengeRequest,
    responses((status = 202, body = EmailCodeSent),
        (status = 401, body = crate::error::Problem),
        (status = 422, description = "Email codes not offered to this sign-in (`email_not_offered`), or an admin who signs in with the authenticator (`authenticator_required`), on field `challenge`", body = crate::error::Problem),
        (status = 429, description = "Asked too soon or too often, or the address is refused after too many failures; see Retry-After", body = crate::error::Problem)))]
async fn email_code(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<ChallengeRequest>,
) -> Result<(StatusCode, Json<EmailCodeSent>)> {
    let (sent_to, expires_at) = second_factor::send_email_code(&state, &req.challenge, &client).await?;
    Ok((StatusCode::ACCEPTED, Json(EmailCodeSent { sent_to, expires_at: to_rfc3339(expires_at) })))
}

/// The authenticator to set up in the `totp_setup` step of a sign-in (R29).
#[utoipa::path(post, path = "/api/v1/auth/totp-setup", tag = "auth", request_body = ChallengeRequest,
    responses((status = 200, body = TotpSetup), (status = 401, body = crate::error::Problem)))]
async fn setup(State(state): State<AppState>, ApiJson(req): ApiJson<ChallengeRequest>) -> Result<Json<TotpSetup>> {
    Ok(Json(second_factor::setup_details(&state, &req.challenge).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmSetupRequest {
    challenge: String,
    /// A code the new authenticator shows.
    code: String,
}

/// Confirm the new authenticator with a code: answers with the session (or the next step) and
/// ten recovery codes, shown this once.
#[utoipa::path(post, path = "/api/v1/auth/totp-setup/confirm", tag = "auth", request_body = ConfirmSetupRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, body = crate::error::Problem),
        (status = 422, description = "Wrong code (field `code`)", body = crate::error::Problem),
        (status = 429, description = "The address is refused after too many failures; see Retry-After", body = crate::error::Problem)))]
async fn confirm_setup(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(req): ApiJson<ConfirmSetupRequest>,
) -> Result<Json<LoginResponse>> {
    Ok(Json(second_factor::confirm_setup(&state, &req.challenge, &req.code, &client).await?.into()))
}
