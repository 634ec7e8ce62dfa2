//! The second-factor steps of a console sign-in (R26–R30): the code page, the authenticator's
//! set-up, and the recovery codes it issues, shown once.
//!
//! There is no session yet, so these are plain form posts (no CSRF token exists to send): the
//! challenge travels in a hidden field, as in the password-change step, and each post is
//! checked for coming from this site.

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use maud::{Markup, html};

use super::page::{login_form, password_change_form, policy_hint, same_origin, session_jar};
use crate::auth::ClientInfo;
use crate::console::ui::{self, Nav};
use crate::console::{Pairs, first};
use crate::error::{Error, FieldIssue};
use crate::model::SignInStep;
use crate::second_factor::authenticator::SetupDetails;
use crate::sign_in::Outcome;
use crate::sign_in::second_factor as steps;
use crate::sign_in::service::Pending;
use crate::state::AppState;

/// What every step form carries along besides the challenge.
struct Carry<'a> {
    account: &'a str,
    challenge: &'a str,
    reason: &'a str,
    /// The methods the second-factor step offers, comma-separated (for showing only: the
    /// server decides what it accepts).
    methods: &'a str,
}

impl<'a> Carry<'a> {
    fn from_form(form: &'a Pairs) -> Self {
        Carry {
            account: first(form, "account").map(str::trim).filter(|a| !a.is_empty()).unwrap_or("default"),
            challenge: first(form, "challenge").unwrap_or_default(),
            reason: first(form, "reason").unwrap_or_default(),
            methods: first(form, "methods").unwrap_or_default(),
        }
    }

    fn hidden(&self) -> Markup {
        html! {
            input type="hidden" name="challenge" value=(self.challenge);
            input type="hidden" name="account" value=(self.account);
            input type="hidden" name="reason" value=(self.reason);
            input type="hidden" name="methods" value=(self.methods);
        }
    }

    fn offers(&self, method: &str) -> bool {
        self.methods.split(',').any(|m| m == method)
    }
}

/// The page for where a sign-in stands: the session (with recovery codes first, if the sign-in
/// just set up an authenticator), or the next step.
pub(in crate::console) async fn outcome(state: &AppState, jar: CookieJar, account: &str, outcome: Outcome) -> Response {
    match outcome {
        Outcome::SignedIn(mut signed) => match signed.recovery_codes.take() {
            Some(codes) => {
                (session_jar(state, jar, signed), recovery_codes_page(account, &codes, None)).into_response()
            }
            None => (session_jar(state, jar, signed), Redirect::to("/console/users")).into_response(),
        },
        Outcome::Step(mut pending) => match pending.recovery_codes.take() {
            Some(codes) => recovery_codes_page(account, &codes, Some(&pending)).into_response(),
            None => step_page(state, account, &pending).await,
        },
        // Asked before the password (R31), so never after a step; the login page handles it.
        Outcome::Captcha(_) => {
            Redirect::to(&format!("/login?account={}&captcha=new", ui::enc(account))).into_response()
        }
    }
}

async fn step_page(state: &AppState, account: &str, pending: &Pending) -> Response {
    let methods = pending.methods.join(",");
    let carry = Carry { account, challenge: &pending.challenge, reason: &pending.reason, methods: &methods };
    match pending.step {
        SignInStep::SecondFactor => code_page(&carry, pending.email_sent_to.as_deref(), None, &[]).into_response(),
        SignInStep::TotpSetup => setup_page(state, &carry, &[]).await,
        SignInStep::PasswordChange => {
            let why = match pending.reason.as_str() {
                "expired" => "Your password has expired. Choose a new one to continue.",
                _ => "You must choose a new password before you continue.",
            };
            let hint = policy_hint(state, account).await;
            password_change_form(account, &pending.challenge, Some(why), hint.as_deref(), &[]).into_response()
        }
    }
}

/// Back to the sign-in page: the challenge is gone (too many wrong codes, or it expired).
fn start_again(account: &str) -> Response {
    let message = "Too many wrong codes, or this sign-in took too long. Sign in again.";
    (StatusCode::UNAUTHORIZED, login_form(account, "", Some(message), None)).into_response()
}

/// Back to the sign-in page: too many failures from this address (D5: wrong codes count too).
fn throttled(account: &str, seconds: u64) -> Response {
    let minutes = seconds.div_ceil(60);
    let message = format!(
        "Too many failed sign-ins from this address. Try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    );
    (StatusCode::TOO_MANY_REQUESTS, login_form(account, "", Some(&message), None)).into_response()
}

fn unavailable(cause: &anyhow::Error) -> Response {
    tracing::error!(error = ?cause, "a sign-in step failed with an internal error");
    let page = login_form("default", "", Some("Sign-in is not available right now; try again shortly."), None);
    (StatusCode::INTERNAL_SERVER_ERROR, page).into_response()
}

fn foreign() -> Response {
    (StatusCode::FORBIDDEN, login_form("default", "", Some("This form was sent from another site."), None))
        .into_response()
}

fn method_label(method: &str) -> &'static str {
    match method {
        "totp" => "Authenticator app",
        "email" => "Emailed code",
        _ => "Recovery code",
    }
}

/// The one-time code field: numeric keyboard, the browser may fill it from an SMS/mail.
fn code_field(issues: &[FieldIssue], hint: &str) -> Markup {
    let errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == "code").collect();
    let described = if errors.is_empty() { "f-code-hint" } else { "f-code-hint f-code-error" };
    html! {
        div.field.has-error[!errors.is_empty()] {
            label for="f-code" { "Code" span.required aria-hidden="true" { " *" } }
            input #f-code name="code" type="text" required autocomplete="one-time-code" inputmode="numeric"
                autocapitalize="none" spellcheck="false" maxlength="32" autofocus aria-describedby=(described)
                aria-invalid=[(!errors.is_empty()).then_some("true")];
            p.hint #f-code-hint { (hint) }
            (ui::field_errors("f-code-error", &errors))
        }
    }
}

fn code_page(carry: &Carry, sent_to: Option<&str>, error: Option<&str>, issues: &[FieldIssue]) -> Markup {
    let offered: Vec<&str> = carry.methods.split(',').filter(|m| !m.is_empty()).collect();
    let first_method = offered.first().copied().unwrap_or("totp");
    let why = match carry.reason {
        "always" | "" => None,
        _ => Some("This sign-in is from a device or address you have not used before, so we ask for a second factor."),
    };
    let hint = match (carry.offers("totp"), carry.offers("email")) {
        (true, true) => "The six digits your authenticator app shows, or the code we emailed you.",
        (true, false) => "The six digits your authenticator app shows.",
        _ => "The six-digit code we emailed you.",
    };
    let body = html! {
        section.auth-card aria-labelledby="sf-title" {
            h1 #sf-title { "Second factor" }
            @if let Some(why) = why { (ui::alert("info", why)) }
            @if let Some(e) = error { (ui::alert("error", e)) }
            @if let Some(to) = sent_to { (ui::alert("success", &format!("We sent a code to {to}. It works for this sign-in only."))) }
            form method="post" action="/login/second-factor" {
                (carry.hidden())
                @if offered.len() > 1 {
                    fieldset.field.inline-checks {
                        legend { "Answer with" }
                        @for m in &offered {
                            div.check {
                                input id=(format!("f-method-{m}")) type="radio" name="method" value=(m) checked[*m == first_method];
                                label for=(format!("f-method-{m}")) { (method_label(m)) }
                            }
                        }
                    }
                } @else {
                    input type="hidden" name="method" value=(first_method);
                }
                (code_field(issues, hint))
                button.button.primary.wide type="submit" { "Verify and sign in" }
            }
            @if carry.offers("email") {
                form.inline-form method="post" action="/login/second-factor/email" {
                    (carry.hidden())
                    button.button.wide type="submit" { @if sent_to.is_some() { "Send again" } @else { "Send me a code" } }
                }
            }
            @if carry.offers("recovery_code") {
                p.muted { "Lost your phone? Choose “Recovery code” and type one of the codes you saved when you set up the app." }
            }
            p { a href="/login" { "Cancel" } }
        }
    };
    ui::layout(None, Nav::None, "Second factor", body)
}

/// `POST /login/second-factor`: the code of the second-factor step.
pub(in crate::console) async fn verify(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Response {
    if !same_origin(&headers, state.config.public_url.as_deref()) {
        return foreign();
    }
    let carry = Carry::from_form(&form);
    let code = first(&form, "code").map(str::trim).unwrap_or_default();
    let method = first(&form, "method").filter(|m| !m.is_empty());
    if code.is_empty() {
        let issues = [FieldIssue::new("code", "required", "enter the code")];
        return (StatusCode::UNPROCESSABLE_ENTITY, code_page(&carry, None, None, &issues)).into_response();
    }
    match steps::verify(&state, carry.challenge, code, method, &client).await {
        Ok(done) => outcome(&state, jar, carry.account, done).await,
        Err(Error::Validation(issues)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, code_page(&carry, None, None, &issues)).into_response()
        }
        Err(Error::TooManyAttempts(seconds)) => throttled(carry.account, seconds),
        Err(Error::Internal(cause)) => unavailable(&cause),
        Err(_) => start_again(carry.account),
    }
}

/// `POST /login/second-factor/email`: "Send me a code" / "Send again".
pub(in crate::console) async fn send_email(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Response {
    if !same_origin(&headers, state.config.public_url.as_deref()) {
        return foreign();
    }
    let carry = Carry::from_form(&form);
    match steps::address_open(&state, &client, crate::clock::now_ms()).await {
        Ok(()) => {}
        Err(Error::TooManyAttempts(seconds)) => return throttled(carry.account, seconds),
        Err(Error::Internal(cause)) => return unavailable(&cause),
        Err(_) => return start_again(carry.account),
    }
    match steps::send_email_code(&state, carry.challenge, &client).await {
        Ok((to, _)) => code_page(&carry, Some(&to), None, &[]).into_response(),
        Err(Error::TooManyAttempts(seconds)) => {
            let message = format!(
                "A code was sent moments ago, or too many were sent: wait {seconds} seconds before asking again."
            );
            (StatusCode::TOO_MANY_REQUESTS, code_page(&carry, None, Some(&message), &[])).into_response()
        }
        Err(Error::Validation(issues)) => {
            let message = issues.first().map(|i| ui::sentence(&i.message)).unwrap_or_default();
            (StatusCode::UNPROCESSABLE_ENTITY, code_page(&carry, None, Some(&message), &[])).into_response()
        }
        Err(Error::Internal(cause)) => unavailable(&cause),
        Err(_) => start_again(carry.account),
    }
}

/// Why this sign-in must set up an authenticator now.
fn setup_reason(reason: &str) -> &'static str {
    match reason {
        "admin_required" => "Admins must use a second factor. Set up an authenticator app to continue.",
        "account_required" => {
            "This account requires a second factor of everyone. Set up an authenticator app to continue."
        }
        _ => "Your second factor is an authenticator app, and none is set up yet. Set one up to continue.",
    }
}

/// The key in groups of four, as authenticator apps show it and people type it.
pub(in crate::console) fn grouped(key: &str) -> String {
    key.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// The QR code, both downloads, the key and the URI: what an authenticator app needs.
pub(in crate::console) fn authenticator_details(d: &SetupDetails) -> Markup {
    let png = format!("data:image/png;base64,{}", d.qr_png_base64);
    let svg = format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(&d.qr_svg));
    html! {
        div.totp-setup {
            img #totp-qr src=(png) width="240" height="240" alt="QR code to scan with your authenticator app";
            p.muted {
                "Download the QR code: "
                a href=(png) download="roster-authenticator.png" { "PNG" } " · "
                a href=(svg) download="roster-authenticator.svg" { "SVG" }
            }
            p { "Can't scan it? Type this key into the app (time-based, 6 digits, every 30 seconds):" }
            (ui::secret_box("totp-key", "Key", &grouped(&d.secret)))
            details {
                summary { "Show the otpauth URI" }
                code #totp-uri .wrap { (d.uri) }
            }
        }
    }
}

async fn setup_page(state: &AppState, carry: &Carry<'_>, issues: &[FieldIssue]) -> Response {
    let details = match steps::setup_details(state, carry.challenge).await {
        Ok(d) => d,
        Err(Error::Internal(cause)) => return unavailable(&cause),
        Err(_) => return start_again(carry.account),
    };
    let body = html! {
        section.auth-card aria-labelledby="setup-title" {
            h1 #setup-title { "Set up an authenticator app" }
            (ui::alert("info", setup_reason(carry.reason)))
            ol.steps {
                li { "Open an authenticator app on your phone (Google Authenticator, Microsoft Authenticator, FreeOTP, 1Password…)." }
                li { "Add an account and scan this QR code, or type the key below." }
                li { "Type the six digits the app shows to confirm." }
            }
            (authenticator_details(&details))
            form method="post" action="/login/totp-setup" {
                (carry.hidden())
                (code_field(issues, "The six digits the app shows now."))
                button.button.primary.wide type="submit" { "Confirm and continue" }
            }
            p { a href="/login" { "Cancel" } }
        }
    };
    let status = if issues.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    (status, ui::layout(None, Nav::None, "Set up an authenticator app", body)).into_response()
}

/// `POST /login/totp-setup`: a code from the new authenticator confirms it.
pub(in crate::console) async fn confirm_setup(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Response {
    if !same_origin(&headers, state.config.public_url.as_deref()) {
        return foreign();
    }
    let carry = Carry::from_form(&form);
    let code = first(&form, "code").map(str::trim).unwrap_or_default();
    if code.is_empty() {
        return setup_page(&state, &carry, &[FieldIssue::new("code", "required", "enter the code the app shows")])
            .await;
    }
    match steps::confirm_setup(&state, carry.challenge, code, &client).await {
        Ok(done) => outcome(&state, jar, carry.account, done).await,
        Err(Error::Validation(issues)) => setup_page(&state, &carry, &issues).await,
        Err(Error::TooManyAttempts(seconds)) => throttled(carry.account, seconds),
        Err(Error::Internal(cause)) => unavailable(&cause),
        Err(_) => start_again(carry.account),
    }
}

/// The recovery codes as a `data:` URI of a text file (nothing leaves the page).
pub(in crate::console) fn codes_download(codes: &[String]) -> String {
    let text =
        format!("Roster recovery codes: each works once in place of the authenticator app.\n\n{}\n", codes.join("\n"));
    // `enc` writes spaces as `+`, which a data: URI would keep; a literal `+` is already `%2B`.
    format!("data:text/plain;charset=utf-8,{}", ui::enc(&text).replace('+', "%20"))
}

/// The codes with Copy and Download; shown once, here or in My Account.
pub(in crate::console) fn codes_box(codes: &[String]) -> Markup {
    html! {
        div.secret.recovery-codes {
            span.secret-label #recovery-codes-label { "Recovery codes" }
            pre.secret-value #recovery-codes aria-labelledby="recovery-codes-label" { (codes.join("\n")) }
            button.button type="button" data-copy="recovery-codes" { "Copy" }
            a.button href=(codes_download(codes)) download="roster-recovery-codes.txt" { "Download as text" }
            span.copy-done role="status" aria-live="polite" {}
        }
    }
}

/// Ten recovery codes, shown this once, then on to the next step or the console.
fn recovery_codes_page(account: &str, codes: &[String], next: Option<&Pending>) -> Markup {
    let body = html! {
        section.auth-card aria-labelledby="codes-title" {
            h1 #codes-title { "Save your recovery codes" }
            (ui::alert("warning", "These codes are shown only now. Each one signs you in once if you lose your phone: keep them somewhere safe."))
            (codes_box(codes))
            (continue_form(account, next))
        }
    };
    ui::layout(None, Nav::None, "Save your recovery codes", body)
}

fn continue_form(account: &str, next: Option<&Pending>) -> Markup {
    html! {
        form method="post" action="/login/continue" {
            input type="hidden" name="account" value=(account);
            @if let Some(p) = next {
                input type="hidden" name="challenge" value=(p.challenge);
                input type="hidden" name="reason" value=(p.reason);
            }
            div.check {
                input #f-saved type="checkbox" name="saved" value="on" required;
                label for="f-saved" { "I have saved these codes" }
            }
            button.button.primary.wide type="submit" { "Continue" }
        }
    }
}

/// `POST /login/continue`: past the recovery codes, to the password change or the console.
pub(in crate::console) async fn continue_after_codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Pairs>,
) -> Response {
    if !same_origin(&headers, state.config.public_url.as_deref()) {
        return foreign();
    }
    let carry = Carry::from_form(&form);
    let next = (!carry.challenge.is_empty()).then(|| Pending {
        step: SignInStep::PasswordChange,
        reason: carry.reason.to_string(),
        challenge: carry.challenge.to_string(),
        expires_at: 0,
        methods: Vec::new(),
        email_sent_to: None,
        recovery_codes: None,
    });
    if first(&form, "saved").is_none() {
        // The codes are not kept anywhere to show again; My Account can issue new ones.
        let body = html! {
            section.auth-card aria-labelledby="codes-title" {
                h1 #codes-title { "Save your recovery codes" }
                (ui::alert("error", "Tick “I have saved these codes” to continue. If you did not save them, continue and make new ones in My account → Two-factor."))
                (continue_form(carry.account, next.as_ref()))
            }
        };
        return (StatusCode::UNPROCESSABLE_ENTITY, ui::layout(None, Nav::None, "Save your recovery codes", body))
            .into_response();
    }
    match next {
        Some(p) => step_page(&state, carry.account, &p).await,
        None => Redirect::to("/console/users").into_response(),
    }
}
