//! The console's layout and the small widgets every page shares: alerts, labelled fields
//! with their error messages, query strings, times.

use maud::{DOCTYPE, Markup, html};

use super::asset_url;
use super::extract::ConsoleUser;
use crate::access::Permission;
use crate::catalog::service::Kind;
use crate::error::{Error, FieldIssue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Users,
    Catalog(Kind),
    Queues,
    Activity,
    Sessions,
    Tokens,
    Accounts,
    Seats,
    Settings,
    Outbox,
    Me,
    None,
}

/// htmx settings: errors are swapped too (forms re-render with their messages, other errors
/// go to the flash area), nothing is kept in localStorage (a generated password must not be),
/// no eval and no inline styles (the console's Content-Security-Policy allows neither).
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"historyCacheSize":0,"allowEval":false,"allowScriptTags":false,"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"[45]..","swap":true,"error":true}]}"#;

pub(crate) fn layout(user: Option<&ConsoleUser>, nav: Nav, title: &str, content: Markup) -> Markup {
    let current = |n: Nav| (n == nav).then_some("page");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Roster" }
                @if let Some(u) = user {
                    meta name="csrf-token" content=(u.csrf);
                }
                meta name="htmx-config" content=(HTMX_CONFIG);
                link rel="icon" href=(asset_url("favicon.svg")) type="image/svg+xml";
                link rel="stylesheet" href=(asset_url("console.css"));
                script src=(asset_url("htmx.min.js")) defer {}
                script src=(asset_url("console.js")) defer {}
            }
            body {
                a.skip-link href="#main" { "Skip to content" }
                header.topbar {
                    a.brand href="/console/users" { span.brand-mark aria-hidden="true" { "R" } "Roster" }
                    @if let Some(u) = user {
                        nav.mainnav aria-label="Main" {
                            ul {
                                li { a href="/console/users" aria-current=[current(Nav::Users)] { "Users" } }
                                @for (slug, kind) in super::catalog::KINDS {
                                    @if u.can(super::catalog::view_permission(kind)) {
                                        li { a href=(format!("/console/{slug}")) aria-current=[current(Nav::Catalog(kind))] {
                                            (super::link_names(kind.link()).1)
                                        } }
                                    }
                                }
                                @if u.can(Permission::QueuesView) {
                                    li { a href="/console/queues" aria-current=[current(Nav::Queues)] { "Queues" } }
                                }
                                @if u.can(Permission::ActivityView) {
                                    li { a href="/console/activity" aria-current=[current(Nav::Activity)] { "Activity" } }
                                }
                                @if u.can(Permission::SessionsView) {
                                    li { a href="/console/sessions" aria-current=[current(Nav::Sessions)] { "Sessions" } }
                                }
                                @if u.can(Permission::TokensView) {
                                    li { a href="/console/tokens" aria-current=[current(Nav::Tokens)] { "API tokens" } }
                                }
                                @if u.caller.platform_operator {
                                    li { a href="/console/accounts" aria-current=[current(Nav::Accounts)] { "Accounts" } }
                                }
                                @if u.can(Permission::BillingView) {
                                    li { a href="/console/seats" aria-current=[current(Nav::Seats)] { "Seats" } }
                                }
                                @if u.can(Permission::SettingsView) {
                                    li { a href="/console/settings/security" aria-current=[current(Nav::Settings)] { "Settings" } }
                                    li { a href="/console/outbox" aria-current=[current(Nav::Outbox)] { "Mail" } }
                                }
                            }
                        }
                        div.whoami {
                            @if let Some(slug) = &u.acting {
                                span.account.acting #acting-account title=(format!("Acting in the account {slug} as a platform operator")) {
                                    "Acting in " (u.account_name)
                                }
                                button.button.subtle type="button" hx-post="/console/accounts/home" { "Back to my account" }
                            } @else {
                                span.account title=(format!("Account: {}", u.caller.account_slug)) {
                                    span.visually-hidden { "Account: " }
                                    (u.account_name)
                                }
                            }
                            a.signed-in href="/console/me" aria-current=[current(Nav::Me)] title="My account: password and sessions" {
                                span.visually-hidden { "Signed in as " }
                                (u.caller.display_name)
                                @if u.caller.display_name != u.caller.login { " (" (u.caller.login) ")" }
                                span.visually-hidden { ": my account" }
                            }
                            button.button.subtle type="button" hx-post="/logout" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    div #flash aria-live="polite" {}
                    (content)
                }
            }
        }
    }
}

/// A page title with optional actions on the right.
pub(crate) fn page_head(title: &str, subtitle: Option<&str>, actions: Markup) -> Markup {
    html! {
        div.page-head {
            div {
                h1 { (title) }
                @if let Some(s) = subtitle { p.muted { (s) } }
            }
            div.page-actions { (actions) }
        }
    }
}

pub(crate) fn alert(kind: &str, message: &str) -> Markup {
    let role = if kind == "error" { "alert" } else { "status" };
    html! { div class=(format!("alert alert-{kind}")) role=(role) { (message) } }
}

/// "The queue was not saved: Name: is required." — every issue of a refused form in one alert,
/// focused so that a screen reader reads it; nothing when there are none.
pub(crate) fn issues_alert(what: &str, issues: &[FieldIssue]) -> Markup {
    html! {
        @if !issues.is_empty() {
            div.alert.alert-error role="alert" tabindex="-1" data-focus {
                (what) ": "
                @for (n, i) in issues.iter().enumerate() {
                    @if n > 0 { " " }
                    (label_for(&i.field)) ": " (sentence(&i.message))
                }
            }
        }
    }
}

pub(crate) fn alert_error(err: &Error) -> Markup {
    let issues = err.field_issues();
    html! {
        div.alert.alert-error role="alert" {
            (error_sentence(err))
            @if issues.len() > 1 {
                ul { @for i in &issues { li { (label_for(&i.field)) ": " (sentence(&i.message)) } } }
            }
        }
    }
}

/// One readable sentence for an error.
pub(crate) fn error_sentence(err: &Error) -> String {
    match err {
        Error::Forbidden(detail) => format!("You are not permitted to do this: {}.", detail.trim_end_matches('.')),
        Error::NotFound(what) => format!("This {what} does not exist, or was deleted."),
        Error::PreconditionFailed => "Someone else changed this user; reload the page to see their change.".into(),
        Error::Internal(_) => "Something went wrong on our side. It has been logged; try again shortly.".into(),
        Error::Validation(issues) if issues.len() == 1 => {
            format!("{}: {}", label_for(&issues[0].field), sentence(&issues[0].message))
        }
        Error::Validation(_) => "Some values are not valid:".into(),
        Error::Conflict { message, .. } => sentence(message),
        other => sentence(&other.to_string()),
    }
}

/// A service message as a sentence: capitalized, with a full stop.
pub(crate) fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut s: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

/// The label a field name has in the forms (for messages shown away from the field).
pub(crate) fn label_for(field: &str) -> String {
    let known = [
        ("login", "Login"),
        ("email", "Email"),
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("sip_username", "SIP user name"),
        ("external_id", "External ID"),
        ("password_confirm", "Confirm password"),
        ("current_password", "Current password"),
        ("new_password", "New password"),
        ("new_password_confirmation", "Confirm the new password"),
        ("password_expiry_months", "Password expiry"),
        ("console_idle_minutes", "Console inactivity timeout"),
        ("phone_idle_minutes", "Phone inactivity timeout"),
        ("expires_at", "Expires"),
        ("permissions", "Permissions"),
        ("name", "Name"),
        ("two_factor_method", "Two-factor method"),
        ("is_company_supervisor", "Company supervisor"),
        ("q", "Search"),
        ("target.ids", "Users"),
        ("values", "Values"),
        ("seats", "Seats"),
        ("id", "User"),
    ];
    match known.iter().find(|(f, _)| *f == field) {
        Some((_, label)) => label.to_string(),
        None => sentence(&field.replace(['_', '.'], " ")).trim_end_matches('.').to_string(),
    }
}

/// A labelled input with its hint and error messages wired up for assistive technology.
pub(crate) struct Field<'a> {
    name: &'a str,
    label: &'a str,
    value: &'a str,
    kind: &'a str,
    hint: Option<&'a str>,
    required: bool,
    autocomplete: Option<&'a str>,
    list: Option<&'a str>,
    maxlength: Option<u32>,
    /// Shown but not sent; `hidden` then sends the value as it is.
    disabled: bool,
    hidden: bool,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str, value: &'a str) -> Self {
        Field {
            name,
            label,
            value,
            kind: "text",
            hint: None,
            required: false,
            autocomplete: None,
            list: None,
            maxlength: None,
            disabled: false,
            hidden: false,
        }
    }
    pub fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn autocomplete(mut self, value: &'a str) -> Self {
        self.autocomplete = Some(value);
        self
    }
    pub fn list(mut self, id: &'a str) -> Self {
        self.list = Some(id);
        self
    }
    pub fn maxlength(mut self, n: u32) -> Self {
        self.maxlength = Some(n);
        self
    }
    /// A field the viewer may not change here: shown disabled, its value sent unchanged in a
    /// hidden input (so that a save leaves it as it is, and the service judges any change).
    pub fn locked(mut self, locked: bool) -> Self {
        self.disabled = locked;
        self.hidden = locked;
        self
    }

    pub fn render(&self, issues: &[FieldIssue]) -> Markup {
        let id = format!("f-{}", self.name);
        let errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == self.name).collect();
        let hint_id = format!("{id}-hint");
        let err_id = format!("{id}-error");
        let mut described = Vec::new();
        if self.hint.is_some() {
            described.push(hint_id.clone());
        }
        if !errors.is_empty() {
            described.push(err_id.clone());
        }
        let described = (!described.is_empty()).then(|| described.join(" "));
        html! {
            div.field.has-error[!errors.is_empty()] {
                label for=(id) {
                    (self.label)
                    @if self.required { span.required aria-hidden="true" { " *" } }
                }
                input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                    required[self.required] autocomplete=[self.autocomplete] list=[self.list]
                    maxlength=[self.maxlength] aria-describedby=[described]
                    aria-invalid=[(!errors.is_empty()).then_some("true")] disabled[self.disabled];
                @if self.hidden { input type="hidden" name=(self.name) value=(self.value); }
                @if let Some(h) = self.hint { p.hint id=(hint_id) { (h) } }
                (field_errors(&err_id, &errors))
            }
        }
    }
}

pub(crate) fn field_errors(id: &str, errors: &[&FieldIssue]) -> Markup {
    html! {
        @if !errors.is_empty() {
            p.field-error id=(id) {
                @for (n, e) in errors.iter().enumerate() {
                    @if n > 0 { " " }
                    (sentence(&e.message))
                }
            }
        }
    }
}

/// A one-time secret with a copy button (R9).
pub(crate) fn secret_box(id: &str, label: &str, secret: &str) -> Markup {
    html! {
        div.secret {
            span.secret-label id=(format!("{id}-label")) { (label) }
            code.secret-value id=(id) aria-labelledby=(format!("{id}-label")) { (secret) }
            button.button type="button" data-copy=(id) { "Copy" }
            span.copy-done role="status" aria-live="polite" {}
        }
    }
}

/// Percent-encodes one query-string component.
pub(crate) fn enc(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `a=1&b=x+y` from pairs (empty values left out).
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Milliseconds since the epoch as the viewer reads them (`console::time`), in a `<time>`
/// element whose title names the zone.
pub(crate) fn time(ms: i64) -> Markup {
    let viewer = super::time::ViewerTime::current();
    html! { time datetime=(crate::clock::to_rfc3339(ms)) title=(viewer.zone_name()) { (viewer.format(ms)) } }
}

/// How the viewer of this request reads times.
pub(crate) fn viewer_time() -> super::time::ViewerTime {
    super::time::ViewerTime::current()
}

/// An RFC 3339 time (as the services give them) like `time`; a dash when absent.
pub(crate) fn time_text(rfc3339: Option<&str>) -> Markup {
    match rfc3339.and_then(crate::clock::parse_rfc3339) {
        Some(ms) => time(ms),
        None => html! { span.muted { "—" } },
    }
}

/// A hidden alert swapped into the flash area along with an htmx answer (`hx-swap-oob`).
pub(crate) fn flash_oob(kind: &str, message: &str) -> Markup {
    html! { div #flash hx-swap-oob="innerHTML" { (alert(kind, message)) } }
}

/// A small padlock drawn inline (decorative: the text next to it says "Locked").
pub(crate) fn lock_icon() -> Markup {
    html! {
        svg.icon aria-hidden="true" focusable="false" viewBox="0 0 16 16" width="12" height="12" {
            path fill="currentColor" d="M4 7V5a4 4 0 1 1 8 0v2h.5A1.5 1.5 0 0 1 14 8.5v5a1.5 1.5 0 0 1-1.5 1.5h-9A1.5 1.5 0 0 1 2 13.5v-5A1.5 1.5 0 0 1 3.5 7H4zm2 0h4V5a2 2 0 1 0-4 0v2z" {}
        }
    }
}

/// The account's settings moved on since the page was opened (a stale version, 412).
pub(crate) const STALE_ACCOUNT_SETTINGS: &str = "Someone else changed the account's settings since you opened this page, so nothing was saved. Reload the page and try again.";

/// A checkbox with its label after it.
pub(crate) fn checkbox(name: &str, value: &str, label: &str, checked: bool, id: &str) -> Markup {
    html! {
        div.check {
            input type="checkbox" id=(id) name=(name) value=(value) checked[checked];
            label for=(id) { (label) }
        }
    }
}

/// The page a one-time link (password reset, enrolment) shows when it no longer works: why,
/// and where to go instead. Refusals of the link itself are 410 Gone.
pub fn dead_link(err: &crate::error::Error, what: &str, next: Markup) -> axum::response::Response {
    use crate::error::Error;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    if let Error::Internal(cause) = err {
        tracing::error!(error = ?cause, "{what} failed with an internal error");
    }
    let message = match err {
        Error::Validation(issues) => issues.first().map(|i| sentence(&i.message)).unwrap_or_default(),
        other => error_sentence(other),
    };
    let body = html! {
        section.auth-card aria-labelledby="dead-title" {
            h1 #dead-title { "This link does not work" }
            (alert("error", &message))
            p { (next) }
        }
    };
    let status = match err.status() {
        StatusCode::UNPROCESSABLE_ENTITY => StatusCode::GONE,
        other => other,
    };
    (status, layout(None, Nav::None, "This link does not work", body)).into_response()
}
