//! The console's CAPTCHA (R31): the sign-in step that shows the picture with its question in
//! words, the account settings' CAPTCHA section and a user's own flag.

use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::ui::{self, Nav};
use super::users::security::number_field;
use super::{Pairs, first};
use crate::captcha::service::{CaptchaAnswer, Challenge, Step};
use crate::clock::now_ms;
use crate::error::FieldIssue;
use crate::model::settings::SecuritySettings;
use crate::state::AppState;

/// The answer the sign-in form carries, if it carries one.
pub(super) fn answer_from(form: &Pairs) -> Option<CaptchaAnswer> {
    let challenge = first(form, "captcha_challenge").filter(|c| !c.is_empty())?;
    Some(CaptchaAnswer {
        challenge: challenge.to_string(),
        answer: first(form, "captcha_answer").unwrap_or_default().to_string(),
    })
}

/// The sign-in page when a CAPTCHA is asked for.
/// `take_over` carries the one-session policy's "end the other session" through the step.
pub(super) fn step_page(account: &str, login: &str, take_over: bool, step: &Step) -> Markup {
    let why = match step.reason {
        "wrong_answer" => ("error", "That answer was not right. Here is a new check; enter your password again too."),
        "expired" => ("error", "That check has expired. Here is a new one; enter your password again too."),
        _ => ("info", "Before you sign in, show that you are a person: answer the check below."),
    };
    form_page(account, login, take_over, &step.captcha, Some(why))
}

/// `GET /login?captcha=new`: the same form with a fresh challenge (the "new challenge" link).
pub(super) async fn fresh_page(state: &AppState, account: &str, login: &str, take_over: bool) -> Option<Response> {
    let record = crate::accounts::service::by_slug(state, account).await.ok()??;
    let challenge = crate::captcha::service::issue(state, record.id, now_ms()).await.ok()?;
    Some(form_page(account, login, take_over, &challenge, None).into_response())
}

fn form_page(account: &str, login: &str, take_over: bool, c: &Challenge, why: Option<(&str, &str)>) -> Markup {
    let again = format!(
        "/login?account={}&login={}&captcha=new{}",
        ui::enc(account),
        ui::enc(login),
        if take_over { "&take_over=1" } else { "" }
    );
    let body = html! {
        section.auth-card aria-labelledby="login-title" {
            h1 #login-title { "Sign in" }
            @if let Some((kind, message)) = why { (ui::alert(kind, message)) }
            form method="post" action="/login" {
                input type="hidden" name="account" value=(account);
                input type="hidden" name="captcha_challenge" value=(c.challenge);
                @if take_over { input type="hidden" name="take_over" value="1"; }
                div.field {
                    label for="f-login" { "Login" span.required aria-hidden="true" { " *" } }
                    input #f-login name="login" type="text" value=(login) required autocomplete="username"
                        autocapitalize="none" spellcheck="false";
                }
                div.field {
                    label for="f-password" { "Password" span.required aria-hidden="true" { " *" } }
                    input #f-password name="password" type="password" required autocomplete="current-password";
                }
                fieldset.captcha {
                    legend { "Check that you are a person" }
                    img.captcha-image src=(c.image_path()) width=(crate::captcha::image::WIDTH) height=(crate::captcha::image::HEIGHT)
                        alt="Distorted letters and digits. If you cannot read them, answer the question below instead.";
                    div.field {
                        label for="f-captcha" {
                            "Type the characters in the picture, or answer this question: "
                            span #captcha-question { (c.question) }
                            span.required aria-hidden="true" { " *" }
                        }
                        input #f-captcha name="captcha_answer" type="text" required autocomplete="off" autocapitalize="none"
                            spellcheck="false" autofocus aria-describedby="captcha-hint";
                        p.hint #captcha-hint {
                            "Capitals and spaces do not matter; the question's answer may be in digits or words. "
                            "Each check can be answered once, within ten minutes."
                        }
                    }
                    p { a href=(again) { "New challenge" } }
                }
                button.button.primary.wide type="submit" { "Sign in" }
            }
        }
    };
    ui::layout(None, Nav::None, "Sign in", body)
}

/// The settings form's CAPTCHA fields: (path, label, hint) of the number.
pub(super) const AFTER_FAILURES: (&str, &str, &str) = (
    "captcha.after_address_failures",
    "Ask after this many failed sign-ins from an address",
    "Within the lockout window; 0 never asks. Below the failures per address that refuse it.",
);
pub(super) const ALWAYS: &str = "captcha.always";

/// Reads the CAPTCHA section of the submitted settings form; returns the number as typed.
pub(super) fn settings_from_form(
    form: &Pairs,
    settings: &mut SecuritySettings,
    issues: &mut Vec<FieldIssue>,
) -> String {
    let text = first(form, AFTER_FAILURES.0).unwrap_or_default().trim().to_string();
    match text.parse::<u32>() {
        Ok(n) => settings.captcha.after_address_failures = n,
        Err(_) => issues.push(FieldIssue::new(AFTER_FAILURES.0, "invalid", "must be a whole number")),
    }
    settings.captcha.always = first(form, ALWAYS).is_some();
    text
}

/// The CAPTCHA section of the account's security settings.
pub(super) fn settings_fieldset(settings: &SecuritySettings, after_failures: &str, issues: &[FieldIssue]) -> Markup {
    let (path, label, hint) = AFTER_FAILURES;
    html! {
        fieldset.card {
            legend { "CAPTCHA at sign-in" }
            p.hint {
                "A picture of distorted text, with a question in words for those who cannot see it, answered before the \
                 password is checked. Users may be asked always, on their security page."
            }
            fieldset.checks {
                legend { "Policy" }
                (ui::checkbox(ALWAYS, "on", "Ask at every sign-in", settings.captcha.always, "f-captcha-always"))
            }
            (number_field(path, label, after_failures, hint, true, issues))
        }
    }
}

/// A user's own flag, on their security page.
pub(super) fn user_flag(required: bool) -> Markup {
    html! {
        fieldset.checks {
            legend { "CAPTCHA" }
            (ui::checkbox("captcha_required", "on", "Ask for a CAPTCHA at every sign-in", required, "f-captcha-required"))
            p.hint { "Whatever the account's policy. Note that this tells whoever tries this login that it exists." }
        }
    }
}
