//! Settings → Single sign-on (issue 15, R39): the account's OpenID Connect providers, the
//! redirect URI to register at them, and a form per provider.
//!
//! Anyone with settings.view sees them. A provider signs people in as any user of the account,
//! admins included, so only admins (and platform operators) are offered the forms; the service
//! (`sso::providers`) refuses everyone else all the same.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use secrecy::SecretString;

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Field, Nav};
use super::{Catalog, Pairs, all, first};
use crate::access::{Permission, Principal};
use crate::error::{Error, FieldIssue};
use crate::ids::{DeskId, IdentityProviderId, RoleId};
use crate::model::AccountRecord;
use crate::sso::providers::{self, ProviderInput, ProviderView};
use crate::state::AppState;
use crate::store::named::NamedRecord;

const LIST: &str = "/console/settings/sso";

/// Whether this principal may add, change and delete providers: the service's own rule (D1/D2).
fn manages(principal: &Principal) -> bool {
    principal.admin || principal.platform_operator
}

const ONLY_ADMINS: &str = "Only the account's admins add, change or delete identity providers: a provider signs people \
     in as any user of the account, admins included.";

/// `GET /console/settings/sso`.
pub(super) async fn list(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsView).await?;
    // Read afresh: the password sign-in form carries the account's version.
    let account = crate::accounts::service::by_id(&state, account.id).await.or_fail(&user)?.unwrap_or(account);
    let editable = manages(&user.principal(&account, Permission::SettingsView)) && user.can(Permission::SettingsManage);
    let items = providers::list(&state, account.id, &account.slug).await.or_fail(&user)?;
    let notice = match first(&q, "notice") {
        Some("password_sign_in") => Some("Password sign-in was saved."),
        Some("saved") => Some("The identity provider was saved."),
        Some("deleted") => Some("The identity provider was deleted, with the identities linked through it."),
        _ => None,
    };
    let body = html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/settings/security" { "Settings" } " / " span aria-current="page" { "Single sign-on" } }
        (ui::page_head("Single sign-on", Some("OpenID Connect providers (Google, Microsoft Entra ID, Keycloak, …) this account's people sign in with."),
            html! { @if editable { a.button.primary href="/console/settings/sso/new" { "Add a provider" } } }))
        @if let Some(n) = notice { (ui::alert("success", n)) }
        @if !editable { (ui::alert("info", ONLY_ADMINS)) }
        (redirect_uri_panel(&crate::sso::sign_in::redirect_uri(&state)))
        (password_sign_in_form(&account, user.can(Permission::SettingsManage), None))
        div.table-wrap {
            table.data #identity-providers {
                caption.visually-hidden { "Identity providers" }
                thead { tr {
                    th scope="col" { "Provider" }
                    th scope="col" { "Issuer" }
                    th scope="col" { "Login page" }
                    th scope="col" { "Linked users" }
                    th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @if items.is_empty() { tr { td.empty colspan="5" { "No identity providers: people sign in with their passwords." } } }
                    @for p in &items {
                        tr data-provider=(p.id.0) {
                            td { span.user-login { (p.label) } }
                            td { code { (p.issuer) } }
                            td { @if p.enabled { span.status.status-active { "Enabled" } } @else { span.status.status-disabled { "Disabled" } } }
                            td { (p.linked_users) }
                            td.actions.nowrap {
                                a.button.subtle.small href=(format!("{LIST}/{}", p.id.0)) {
                                    @if editable { "Edit" } @else { "View" }
                                    span.visually-hidden { " " (p.label) }
                                }
                            }
                        }
                        @if !p.risks.is_empty() {
                            tr.risks { td colspan="5" { (risks(p)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(user.page(Nav::Settings, "Single sign-on", body))
}

/// The address every provider must send people back to, ready to copy.
fn redirect_uri_panel(uri: &str) -> Markup {
    html! {
        section.panel #redirect-uri-panel aria-labelledby="redirect-uri-title" {
            h2 #redirect-uri-title { "Redirect URI" }
            p { "Register this address at the provider as the redirect (callback) URI of Roster's client:" }
            // The copy widget of one-time secrets (console.js copies the element `data-copy` names).
            div.secret {
                span.secret-label #redirect-uri-label { "Redirect URI" }
                code.secret-value #redirect-uri aria-labelledby="redirect-uri-label" { (uri) }
                button.button type="button" data-copy="redirect-uri" { "Copy" }
                span.copy-done role="status" aria-live="polite" {}
            }
        }
    }
}

fn risks(p: &ProviderView) -> Markup {
    html! {
        @for risk in &p.risks {
            div.alert.alert-warning role="status" { strong { "Risk (" (p.label) "): " } (risk) }
        }
    }
}

/// What the form shows: a provider's settings, or what was just submitted. The client secret
/// is never part of it: it is typed, sent, and never rendered back.
struct Values {
    label: String,
    issuer: String,
    client_id: String,
    scopes: String,
    allowed_domains: String,
    allow_unverified_email: bool,
    trust_second_factor: bool,
    create_users: bool,
    enabled: bool,
    new_user_roles: Vec<i64>,
    new_user_desks: Vec<i64>,
    version: i64,
}

impl Values {
    fn new_provider() -> Values {
        Values {
            label: String::new(),
            issuer: String::new(),
            client_id: String::new(),
            scopes: "openid email profile".into(),
            allowed_domains: String::new(),
            allow_unverified_email: false,
            trust_second_factor: false,
            create_users: false,
            enabled: true,
            new_user_roles: Vec::new(),
            new_user_desks: Vec::new(),
            version: 0,
        }
    }

    fn of(p: &ProviderView) -> Values {
        Values {
            label: p.label.clone(),
            issuer: p.issuer.clone(),
            client_id: p.client_id.clone(),
            scopes: p.scopes.join(" "),
            allowed_domains: p.allowed_domains.join(", "),
            allow_unverified_email: p.allow_unverified_email,
            trust_second_factor: p.trust_second_factor,
            create_users: p.create_users,
            enabled: p.enabled,
            new_user_roles: p.new_user_roles.iter().map(|r| r.0).collect(),
            new_user_desks: p.new_user_desks.iter().map(|d| d.0).collect(),
            version: p.version,
        }
    }

    fn from_form(f: &Pairs) -> Values {
        let text = |k: &str| first(f, k).unwrap_or_default().trim().to_string();
        let ids = |k: &str| all(f, k).filter_map(|v| v.parse().ok()).collect();
        Values {
            label: text("label"),
            issuer: text("issuer"),
            client_id: text("client_id"),
            scopes: text("scopes"),
            allowed_domains: text("allowed_domains"),
            allow_unverified_email: first(f, "allow_unverified_email").is_some(),
            trust_second_factor: first(f, "trust_second_factor").is_some(),
            create_users: first(f, "create_users").is_some(),
            enabled: first(f, "enabled").is_some(),
            new_user_roles: ids("new_user_roles"),
            new_user_desks: ids("new_user_desks"),
            version: first(f, "version").and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }

    /// The service's input: every field sent (an unchecked box is `false`, an empty list
    /// empties it); an empty secret keeps the current one.
    fn input(&self, secret: &str) -> ProviderInput {
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()).map(str::to_string).collect()
        };
        ProviderInput {
            label: Some(self.label.clone()),
            issuer: Some(self.issuer.clone()),
            client_id: Some(self.client_id.clone()),
            client_secret: (!secret.is_empty()).then(|| SecretString::from(secret.to_string())),
            scopes: Some(self.scopes.split_whitespace().map(str::to_string).collect()),
            allowed_domains: Some(words(&self.allowed_domains)),
            allow_unverified_email: Some(self.allow_unverified_email),
            trust_second_factor: Some(self.trust_second_factor),
            create_users: Some(self.create_users),
            new_user_roles: Some(self.new_user_roles.iter().copied().map(RoleId).collect()),
            new_user_desks: Some(self.new_user_desks.iter().copied().map(DeskId).collect()),
            enabled: Some(self.enabled),
        }
    }
}

/// The roles and desks the form offers. An admin is offered the roles they may give (D1) and
/// those the provider gives already; a reader sees only those the provider gives (the setting
/// they may read), unchangeable.
struct Choices {
    roles: Vec<NamedRecord>,
    desks: Vec<NamedRecord>,
}

impl Choices {
    async fn load(
        state: &AppState,
        user: &ConsoleUser,
        account: &AccountRecord,
        principal: &Principal,
        v: &Values,
    ) -> Result<Choices, Failure> {
        let catalog = Catalog::load(state, account.id).await.or_fail(user)?;
        if manages(principal) {
            let grantable = catalog.only_grantable(state, principal, &v.new_user_roles, &[]).await.or_fail(user)?;
            return Ok(Choices { roles: grantable.roles, desks: grantable.desks });
        }
        let given = |items: Vec<NamedRecord>, ids: &[i64]| -> Vec<NamedRecord> {
            items.into_iter().filter(|i| ids.contains(&i.id)).collect()
        };
        Ok(Choices { roles: given(catalog.roles, &v.new_user_roles), desks: given(catalog.desks, &v.new_user_desks) })
    }
}

fn form(
    id: Option<IdentityProviderId>,
    v: &Values,
    choices: &Choices,
    editable: bool,
    issues: &[FieldIssue],
    top: Option<Markup>,
) -> Markup {
    let action = match id {
        Some(id) => format!("{LIST}/{}", id.0),
        None => format!("{LIST}/new"),
    };
    let secret_hint = match id {
        Some(_) => "Leave empty to keep the current secret, which is never shown.",
        None => "Sealed when saved and never shown again; type it again if the form comes back with a message.",
    };
    html! {
        form #sso-provider-form .panel hx-post=(action) hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(t) = top { (t) }
            (ui::issues_alert("The identity provider was not saved", issues))
            @if id.is_some() { input type="hidden" name="version" value=(v.version); }
            fieldset.settings-fieldset disabled[!editable] {
                legend.visually-hidden { "Identity provider" }
                div.form-grid {
                    fieldset.card {
                        legend { "Provider" }
                        (Field::new("label", "Label", &v.label).required().maxlength(80).autocomplete("off")
                            .hint("The login page's button reads “Sign in with” and this label.").render(issues))
                        (Field::new("issuer", "Issuer URL", &v.issuer).kind("url").required().maxlength(500).autocomplete("off")
                            .hint("Such as https://accounts.google.com or https://keycloak.example.com/realms/staff. Its configuration is read from /.well-known/openid-configuration when you save.")
                            .render(issues))
                        (Field::new("client_id", "Client ID", &v.client_id).required().maxlength(255).autocomplete("off")
                            .hint("The client Roster was registered as at the provider.").render(issues))
                        // Never prefilled: the field's value is always empty.
                        (Field::new("client_secret", "Client secret", "").kind("password").autocomplete("new-password")
                            .hint(secret_hint).render(issues))
                        (Field::new("scopes", "Scopes", &v.scopes).autocomplete("off")
                            .hint("Separated by spaces; openid and email are always asked.").render(issues))
                    }
                    fieldset.card {
                        legend { "Who may sign in" }
                        (Field::new("allowed_domains", "Allowed email domains", &v.allowed_domains).autocomplete("off")
                            .hint("Separated by commas or spaces, such as example.com; empty: every domain.").render(issues))
                        fieldset.checks {
                            legend { "Sign-in" }
                            (flag("enabled", "Offered on the login page", None, v.enabled, issues))
                            (flag("create_users", "Create a user at the first sign-in of someone no user has the email of",
                                Some("They get the roles and desks below. Limit the email domains, or anyone the provider signs in becomes a user."),
                                v.create_users, issues))
                        }
                        fieldset.checks {
                            legend { "Risks" }
                            (flag("allow_unverified_email", "Risk: let an email address the provider has not verified find a user",
                                Some("Someone who types another person's address at the provider could then sign in as them."),
                                v.allow_unverified_email, issues))
                            (flag("trust_second_factor", "Risk: trust the provider's second factor instead of Roster's",
                                Some("Whoever the provider says used a second factor, admins included, is not asked for Roster's: the account then relies on how the provider is run."),
                                v.trust_second_factor, issues))
                        }
                    }
                    fieldset.card.wide {
                        legend { "Users made at their first sign-in" }
                        div.checklists {
                            (checklist("new_user_roles", "Roles", &choices.roles, &v.new_user_roles, issues))
                            (checklist("new_user_desks", "Desks", &choices.desks, &v.new_user_desks, issues))
                        }
                    }
                }
            }
            @if editable {
                div.form-actions {
                    button.button.primary type="submit" { @if id.is_some() { "Save changes" } @else { "Add provider" } }
                    a.button.subtle href=(LIST) { "Cancel" }
                }
            }
        }
    }
}

/// A checkbox with its label, an optional hint and its messages.
fn flag(name: &str, label: &str, hint: Option<&str>, on: bool, issues: &[FieldIssue]) -> Markup {
    let id = format!("f-{name}");
    let errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == name).collect();
    html! {
        div.check {
            input type="checkbox" id=(id) name=(name) value="on" checked[on]
                aria-describedby=[hint.map(|_| format!("{id}-hint"))];
            label for=(id) { (label) }
            @if let Some(h) = hint { p.hint id=(format!("{id}-hint")) { (h) } }
            (ui::field_errors(&format!("{id}-error"), &errors))
        }
    }
}

fn checklist(name: &str, legend: &str, items: &[NamedRecord], selected: &[i64], issues: &[FieldIssue]) -> Markup {
    let errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == name).collect();
    html! {
        fieldset.checklist id=(format!("f-{name}")) {
            legend { (legend) }
            @if items.is_empty() { p.muted { "None in this account yet." } }
            div.checklist-items {
                @for item in items {
                    div.check {
                        input type="checkbox" id=(format!("f-{name}-{}", item.id)) name=(name) value=(item.id)
                            checked[selected.contains(&item.id)];
                        label for=(format!("f-{name}-{}", item.id)) {
                            (item.name)
                            @if !item.description.is_empty() { span.desc { (item.description) } }
                        }
                    }
                }
            }
            (ui::field_errors(&format!("f-{name}-error"), &errors))
        }
    }
}

fn breadcrumbs(title: &str) -> Markup {
    html! {
        nav.breadcrumbs aria-label="Breadcrumb" {
            a href="/console/settings/security" { "Settings" } " / " a href=(LIST) { "Single sign-on" } " / "
            span aria-current="page" { (title) }
        }
    }
}

/// The service's refusal, said before a form is shown that could not be saved.
fn refused(user: &ConsoleUser) -> Failure {
    user.fail(Error::Forbidden(
        "identity providers are managed by the account's admins: a provider signs people in as any user, admins \
         included"
            .into(),
    ))
}

/// `GET /console/settings/sso/new`.
pub(super) async fn new_page(State(state): State<AppState>, user: ConsoleUser) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let principal = user.principal(&account, Permission::SettingsManage);
    if !manages(&principal) {
        return Err(refused(&user));
    }
    let v = Values::new_provider();
    let choices = Choices::load(&state, &user, &account, &principal, &v).await?;
    let body = html! {
        (breadcrumbs("New provider"))
        (ui::page_head("New identity provider", Some("Register Roster as a client at the provider first, with the redirect URI below."), html! {}))
        (redirect_uri_panel(&crate::sso::sign_in::redirect_uri(&state)))
        (form(None, &v, &choices, true, &[], None))
    };
    Ok(user.page(Nav::Settings, "New identity provider", body))
}

/// `POST /console/settings/sso/new`.
pub(super) async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let principal = user.principal(&account, Permission::SettingsManage);
    let v = Values::from_form(&f);
    let input = v.input(first(&f, "client_secret").unwrap_or_default());
    match providers::create(&state, &principal, &account.slug, input).await {
        Ok(_) => Ok(go(user.htmx, &format!("{LIST}?notice=saved"))),
        Err(err @ (Error::Validation(_) | Error::Conflict { .. })) => {
            let choices = Choices::load(&state, &user, &account, &principal, &v).await?;
            Ok((err.status(), form(None, &v, &choices, true, &err.field_issues(), None)).into_response())
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// `GET /console/settings/sso/{id}`: the form for admins, the settings read-only for others.
pub(super) async fn edit_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsView).await?;
    let principal = user.principal(&account, Permission::SettingsView);
    let editable = manages(&principal) && user.can(Permission::SettingsManage);
    let p = providers::get(&state, account.id, &account.slug, IdentityProviderId(id)).await.or_fail(&user)?;
    let v = Values::of(&p);
    let choices = Choices::load(&state, &user, &account, &principal, &v).await?;
    let body = html! {
        (breadcrumbs(&p.label))
        (ui::page_head(&p.label, Some("An OpenID Connect provider this account's people sign in with."), html! {
            @if editable {
                button.button.subtle.danger-text type="button" hx-post=(format!("{LIST}/{id}/delete"))
                    hx-confirm=(format!("Delete the identity provider {}? Nobody signs in through it any more, and the identities linked through it ({}) are removed.", p.label, p.linked_users)) {
                    "Delete"
                }
            }
        }))
        @if !editable { (ui::alert("info", ONLY_ADMINS)) }
        (risks(&p))
        dl.facts {
            dt { "Redirect URI" } dd { code #redirect-uri { (p.redirect_uri) } }
            dt { "Sign-in link" } dd { a href=(p.sign_in_url) { (p.sign_in_url) } }
            dt { "Client secret" } dd { "Set; kept sealed and never shown." }
            dt { "Linked users" } dd { (p.linked_users) }
        }
        (form(Some(p.id), &v, &choices, editable, &[], None))
    };
    Ok(user.page(Nav::Settings, &p.label, body))
}

/// `POST /console/settings/sso/{id}`.
pub(super) async fn update(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let principal = user.principal(&account, Permission::SettingsManage);
    let id = IdentityProviderId(id);
    let v = Values::from_form(&f);
    let input = v.input(first(&f, "client_secret").unwrap_or_default());
    let (status, issues, top) = match providers::update(&state, &principal, &account.slug, id, v.version, input).await {
        Ok(_) => return Ok(go(user.htmx, &format!("{LIST}?notice=saved"))),
        Err(err @ (Error::Validation(_) | Error::Conflict { .. })) => (err.status(), err.field_issues(), None),
        Err(Error::PreconditionFailed) => {
            let stale = html! {
                div.alert.alert-error role="alert" tabindex="-1" data-focus {
                    "Someone else changed this identity provider since you opened this page, so nothing was saved. "
                    a href=(format!("{LIST}/{}", id.0)) { "Reload the page" }
                    " to see their changes, then make yours again."
                }
            };
            (StatusCode::PRECONDITION_FAILED, Vec::new(), Some(stale))
        }
        Err(err) => return Err(user.fail(err)),
    };
    let choices = Choices::load(&state, &user, &account, &principal, &v).await?;
    Ok((status, form(Some(id), &v, &choices, true, &issues, top)).into_response())
}

/// `POST /console/settings/sso/{id}/delete`.
pub(super) async fn delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let principal = user.principal(&account, Permission::SettingsManage);
    providers::delete(&state, &principal, IdentityProviderId(id)).await.or_fail(&user)?;
    Ok(go(user.htmx, &format!("{LIST}?notice=deleted")))
}

/// The account's password sign-in (issue 15): on, or off for everyone whose own setting follows
/// the account (a break-glass admin keeps theirs; see a user's Security page).
fn password_sign_in_form(account: &AccountRecord, editable: bool, problem: Option<&str>) -> Markup {
    html! {
        form.panel.narrow #password-sign-in-form hx-post=(format!("{LIST}/password-sign-in")) hx-target="this" hx-swap="outerHTML" {
            h2 { "Password sign-in" }
            @if let Some(p) = problem { (ui::alert("error", p)) }
            input type="hidden" name="version" value=(account.version);
            fieldset.inline-checks disabled[!editable] {
                legend { "People of this account sign in" }
                div.check {
                    input #f-password-sign-in-on type="radio" name="password_sign_in" value="on" checked[account.password_sign_in];
                    label for="f-password-sign-in-on" { "with their password or an identity provider" }
                }
                div.check {
                    input #f-password-sign-in-off type="radio" name="password_sign_in" value="off" checked[!account.password_sign_in];
                    label for="f-password-sign-in-off" { "only through an identity provider (users marked “kept” still use a password)" }
                }
                p.hint { "Turning passwords off needs an enabled provider and an admin whose password sign-in is “kept”: the way in when the provider is down." }
                div.form-actions { button.button.primary type="submit" { "Save" } }
            }
        }
    }
}

/// `POST /console/settings/sso/password-sign-in`.
pub(super) async fn save_password_sign_in(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let principal = user.principal(&account, Permission::SettingsManage);
    let on = first(&form, "password_sign_in") != Some("off");
    let version = first(&form, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let edit = crate::accounts::service::AccountEdit { password_sign_in: Some(on), ..Default::default() };
    let problem = match crate::accounts::service::update(&state, &principal, account.id, version, edit).await {
        Ok(_) => return Ok(go(user.htmx, &format!("{LIST}?notice=password_sign_in"))),
        Err(Error::PreconditionFailed) => (StatusCode::PRECONDITION_FAILED, ui::STALE_ACCOUNT_SETTINGS.to_string()),
        Err(err @ (Error::StateConflict(_) | Error::LastAdmin(_))) => {
            let message = match &err {
                Error::StateConflict(issue) => issue.message.clone(),
                Error::LastAdmin(message) => message.clone(),
                _ => String::new(),
            };
            (StatusCode::CONFLICT, ui::sentence(&message))
        }
        Err(err) => return Err(user.fail(err)),
    };
    let current = crate::accounts::service::by_id(&state, account.id).await.or_fail(&user)?.unwrap_or(account);
    Ok((problem.0, password_sign_in_form(&current, true, Some(&problem.1))).into_response())
}
