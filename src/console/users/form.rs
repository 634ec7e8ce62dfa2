//! Creating and editing a user: every field of `UserInput` (R1–R13), with each refusal
//! shown next to its field, and a generated password shown once (R9).

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use secrecy::{ExposeSecret, SecretString};

use super::form_fields::{self as ff, FORM_FIELDS};
use super::offers::{Acting, Offers};
use crate::access::Permission;
use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::ui::{self, Nav};
use crate::console::{Catalog, Pairs, all, first};
use crate::error::{Error, FieldIssue};
use crate::ids::{DeskId, GroupId, RoleId, SkillId, UserId};
use crate::model::user::{TwoFactorMethod, UserStatus};
use crate::state::AppState;
use crate::users::input::UserInput;
use crate::users::service::{self, UserView};

/// The R11 flags as the form names them.
pub(crate) const FLAGS: [(&str, &str); 7] = [
    ("receive_email", "Receives email"),
    ("receive_sms", "Receives SMS"),
    ("is_agent", "Agent"),
    ("is_supervisor", "Supervisor"),
    ("is_end_user", "End user (customer or partner)"),
    ("is_company_supervisor", "Company supervisor (sees their company's end users)"),
    ("is_superuser", "Platform operator (superuser)"),
];

/// What the form shows: a user's current values, or what was just submitted.
#[derive(Debug, Default)]
pub(in crate::console) struct Values {
    pub text: HashMap<&'static str, String>,
    pub flags: Vec<&'static str>,
    pub roles: Vec<i64>,
    pub groups: Vec<i64>,
    pub desks: Vec<i64>,
    pub skills: Vec<i64>,
    pub permissions: Vec<String>,
    pub version: i64,
    pub generate_password: bool,
    pub must_change_password: bool,
    /// A new SIP password as typed; never rendered back into the page.
    pub sip_password: String,
    pub clear_sip_password: bool,
    pub has_sip_password: bool,
}

impl Values {
    pub fn get(&self, name: &str) -> &str {
        self.text.get(name).map(String::as_str).unwrap_or_default()
    }

    fn new_user() -> Self {
        let mut v = Values { flags: vec!["receive_email"], generate_password: true, ..Default::default() };
        v.text.insert("status", UserStatus::Active.as_str().into());
        v.text.insert("two_factor_method", TwoFactorMethod::Disabled.as_str().into());
        v.text.insert("two_factor_mode", "always".into());
        v
    }

    fn from_view(u: &UserView) -> Self {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let text = HashMap::from([
            ("login", u.login.clone()),
            ("email", s(&u.email)),
            ("first_name", s(&u.first_name)),
            ("last_name", s(&u.last_name)),
            ("phone", s(&u.phone)),
            ("mobile", s(&u.mobile)),
            ("extension", s(&u.extension)),
            ("sip_username", s(&u.sip_username)),
            ("phone_topology", s(&u.phone_topology)),
            ("company", s(&u.company)),
            ("related_contact", s(&u.related_contact)),
            ("external_id", s(&u.external_id)),
            ("time_zone", s(&u.time_zone)),
            ("date_format", s(&u.date_format)),
            ("time_format", s(&u.time_format)),
            ("status", u.status.as_str().to_string()),
            ("two_factor_method", u.two_factor_method.as_str().to_string()),
            ("two_factor_mode", u.two_factor_mode.as_str().to_string()),
        ]);
        let f = &u.flags;
        let set = [
            f.receive_email,
            f.receive_sms,
            f.is_agent,
            f.is_supervisor,
            f.is_end_user,
            f.is_company_supervisor,
            f.is_superuser,
        ];
        let a = &u.assignments;
        let ids = |refs: &[crate::model::user::Ref]| refs.iter().map(|r| r.id).collect();
        Values {
            text,
            flags: FLAGS.iter().zip(set).filter(|(_, on)| *on).map(|((name, _), _)| *name).collect(),
            roles: ids(&a.roles),
            groups: ids(&a.groups),
            desks: ids(&a.desks),
            skills: ids(&a.skills),
            permissions: a.permissions.clone(),
            version: u.version,
            generate_password: false,
            must_change_password: false,
            has_sip_password: u.has_sip_password,
            ..Default::default()
        }
    }

    fn from_form(form: &Pairs) -> Self {
        let ids = |k: &str| all(form, k).filter_map(|v| v.parse().ok()).collect();
        Values {
            text: FORM_FIELDS.iter().map(|k| (*k, first(form, k).unwrap_or_default().to_string())).collect(),
            flags: FLAGS.iter().map(|(k, _)| *k).filter(|k| first(form, k).is_some()).collect(),
            roles: ids("roles"),
            groups: ids("groups"),
            desks: ids("desks"),
            skills: ids("skills"),
            permissions: all(form, "permissions").map(str::to_string).collect(),
            version: first(form, "version").and_then(|v| v.parse().ok()).unwrap_or(0),
            generate_password: first(form, "password_mode") != Some("set"),
            must_change_password: first(form, "must_change_password").is_some(),
            sip_password: first(form, "sip_password").unwrap_or_default().to_string(),
            clear_sip_password: first(form, "clear_sip_password").is_some(),
            has_sip_password: first(form, "has_sip_password").is_some(),
        }
    }

    /// The input for the service. Every field is sent, so a blank one clears the value.
    fn to_input(&self, user: &ConsoleUser, creating: bool, password: Option<SecretString>) -> UserInput {
        let t = |k: &str| Some(Some(self.get(k).trim().to_string()));
        let flag = |k: &str| Some(self.flags.contains(&k));
        // Access changes need users.edit; only platform operators touch the superuser flag.
        let access = user.can(Permission::UsersEdit);
        UserInput {
            login: Some(self.get("login").trim().to_string()),
            email: t("email"),
            first_name: t("first_name"),
            last_name: t("last_name"),
            phone: t("phone"),
            mobile: t("mobile"),
            extension: t("extension"),
            sip_username: t("sip_username"),
            sip_password: if self.clear_sip_password {
                Some(None)
            } else if self.sip_password.is_empty() {
                None
            } else {
                Some(Some(SecretString::from(self.sip_password.clone())))
            },
            phone_topology: t("phone_topology"),
            company: t("company"),
            related_contact: t("related_contact"),
            external_id: t("external_id"),
            time_zone: t("time_zone"),
            date_format: t("date_format"),
            time_format: t("time_format"),
            receive_email: flag("receive_email"),
            receive_sms: flag("receive_sms"),
            is_agent: flag("is_agent"),
            is_supervisor: flag("is_supervisor"),
            is_superuser: user.caller.platform_operator.then(|| self.flags.contains(&"is_superuser")),
            is_end_user: flag("is_end_user"),
            is_company_supervisor: flag("is_company_supervisor"),
            status: Some(self.get("status").to_string()).filter(|s| !s.is_empty()),
            status_reason: Some(self.get("status_reason").trim().to_string()).filter(|s| !s.is_empty()),
            two_factor_method: Some(self.get("two_factor_method").to_string()).filter(|s| !s.is_empty()),
            two_factor_mode: Some(self.get("two_factor_mode").to_string()).filter(|s| !s.is_empty()),
            password,
            must_change_password: creating.then_some(self.must_change_password),
            roles: access.then(|| self.roles.iter().copied().map(RoleId).collect()),
            groups: access.then(|| self.groups.iter().copied().map(GroupId).collect()),
            desks: Some(self.desks.iter().copied().map(DeskId).collect()),
            skills: Some(self.skills.iter().copied().map(SkillId).collect()),
            permissions: access.then(|| self.permissions.clone()),
        }
    }
}

/// Which form this is.
pub(in crate::console) enum Mode {
    Create,
    Edit { id: i64 },
}

impl Mode {
    pub(in crate::console) fn action(&self) -> String {
        match self {
            Mode::Create => "/console/users/new".into(),
            Mode::Edit { id, .. } => format!("/console/users/{id}/edit"),
        }
    }
}

pub(in crate::console) async fn new_page(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersCreate).await?;
    let principal = user.principal(&account, Permission::UsersCreate);
    let catalog = Catalog::load(&state, account.id)
        .await
        .or_fail(&user)?
        .only_grantable(&state, &principal, &[], &[])
        .await
        .or_fail(&user)?;
    let form = ff::user_form(&user, &catalog, &Values::new_user(), &[], &Mode::Create, None);
    Ok(user.page(Nav::Users, "New user", page(&form, "New user", None)))
}

pub(in crate::console) async fn edit_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    // A user out of reach (D2) is refused here as saving would be: 403, with the reason.
    let view = crate::users::reach::changeable(&state, &principal, UserId(id)).await.or_fail(&user)?;
    let offers = Acting::load(&state, &user, &account, &[view.id])
        .await
        .or_fail(&user)?
        .offers(view.id, view.locked_until.is_some());
    let (roles, groups): (Vec<i64>, Vec<i64>) =
        (view.assignments.roles.iter().map(|r| r.id).collect(), view.assignments.groups.iter().map(|r| r.id).collect());
    let catalog = Catalog::load(&state, account.id)
        .await
        .or_fail(&user)?
        .only_grantable(&state, &principal, &roles, &groups)
        .await
        .or_fail(&user)?;
    let mode = Mode::Edit { id };
    let form = ff::user_form(&user, &catalog, &Values::from_view(&view), &[], &mode, None);
    let title = format!("Edit {}", view.login);
    let identities = super::identities::section(&state, &user, &principal, view.id, first(&q, "notice")).await?;
    let body = html! { (page(&form, &title, Some((id, &offers)))) (identities) };
    Ok(user.page(Nav::Users, &title, body))
}

/// The page around the form; for an existing user, the actions the viewer may take on them.
fn page(form: &Markup, title: &str, edit: Option<(i64, &Offers)>) -> Markup {
    html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/console/users" { "Users" } " / " span aria-current="page" { (title) } }
        (ui::page_head(title, None, html! {
            @if let Some((id, offers)) = edit {
                @if offers.myself {
                    a.button.subtle href="/console/me" { "My account" }
                }
                @if offers.password {
                    a.button.subtle href=(format!("/console/users/{id}/password")) { "Change password" }
                }
                @if offers.sessions {
                    a.button.subtle href=(format!("/console/users/{id}/sessions")) { "Sessions" }
                }
                a.button.subtle href=(format!("/console/users/{id}/queues")) { "Queues" }
                a.button.subtle href=(format!("/console/users/{id}/calls")) { "Calls" }
                @if offers.security {
                    a.button.subtle href=(format!("/console/users/{id}/security")) { "Security" }
                    a.button.subtle href=(format!("/console/users/{id}/deactivation")) { "Deactivation" }
                }
                @if offers.access_rules {
                    a.button.subtle href=(format!("/console/users/{id}/access-rules")) { "Access rules" }
                }
                @if offers.avatar {
                    a.button.subtle href=(format!("/console/users/{id}/avatar")) { "Avatar" }
                }
                @if offers.activity {
                    a.button.subtle href=(format!("/console/users/{id}/activity")) { "Activity" }
                }
                @if offers.delete {
                    a.button.subtle.danger-text href=(format!("/console/users/{id}/delete")) { "Delete" }
                }
            }
        }))
        (form)
    }
}

pub(in crate::console) async fn create(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersCreate).await?;
    let principal = user.principal(&account, Permission::UsersCreate);
    let values = Values::from_form(&form);
    let mut issues = Vec::new();
    let password = if values.generate_password {
        None
    } else {
        let p = first(&form, "password").unwrap_or_default();
        if p.is_empty() {
            issues.push(FieldIssue::new("password", "required", "enter a password, or choose to generate one"));
        } else if first(&form, "password_confirm") != Some(p) {
            issues.push(FieldIssue::new("password_confirm", "mismatch", "does not match the password"));
        }
        (!p.is_empty()).then(|| SecretString::from(p.to_string()))
    };
    let input = values.to_input(&user, true, password);
    if let Err(err) = input.to_fields(None) {
        issues.splice(0..0, err.field_issues());
    }
    if !issues.is_empty() {
        return rerender(&state, &user, account.id, &values, &issues, &Mode::Create, None).await;
    }
    match service::create(&state, &principal, input).await {
        Ok((view, generated)) => Ok(created(&view, generated.as_ref(), values.must_change_password).into_response()),
        Err(err @ (Error::Validation(_) | Error::Conflict { .. })) => {
            rerender(&state, &user, account.id, &values, &err.field_issues(), &Mode::Create, None).await
        }
        Err(err) => Err(user.fail(err)),
    }
}

pub(in crate::console) async fn update(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(form): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    let values = Values::from_form(&form);
    let input = values.to_input(&user, false, None);
    let mode = Mode::Edit { id };
    match service::update(&state, &principal, UserId(id), values.version, input).await {
        Ok(_) => {
            state.mail.wake();
            Ok(go(user.htmx, "/console/users?notice=saved"))
        }
        // The agent flag kept while the user is in queues (R16) is said at its checkbox.
        Err(err @ (Error::Validation(_) | Error::Conflict { .. } | Error::StateConflict(_))) => {
            rerender(&state, &user, account.id, &values, &err.field_issues(), &mode, None).await
        }
        Err(Error::PreconditionFailed) => {
            let stale = html! {
                div.alert.alert-error role="alert" {
                    "Someone else changed this user; reload. "
                    a href=(mode.action()) { "Reload the form" }
                    " to see their changes (what you typed here will be lost)."
                }
            };
            let mut r = rerender(&state, &user, account.id, &values, &[], &mode, Some(stale)).await?;
            *r.status_mut() = StatusCode::PRECONDITION_FAILED;
            Ok(r)
        }
        Err(err) => Err(user.fail(err)),
    }
}

/// The form again with the submitted values and each message next to its field.
async fn rerender(
    state: &AppState,
    user: &ConsoleUser,
    account: crate::ids::AccountId,
    values: &Values,
    issues: &[FieldIssue],
    mode: &Mode,
    top: Option<Markup>,
) -> Result<Response, Failure> {
    let permission = if matches!(mode, Mode::Create) { Permission::UsersCreate } else { Permission::UsersEdit };
    let principal = user.caller.principal(account, permission, &user.client);
    let catalog = Catalog::load(state, account)
        .await
        .or_fail(user)?
        .only_grantable(state, &principal, &values.roles, &values.groups)
        .await
        .or_fail(user)?;
    let form = ff::user_form(user, &catalog, values, issues, mode, top);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, form).into_response())
}

/// Replaces the form once the user exists: the generated password, shown this once (R9).
fn created(view: &UserView, generated: Option<&SecretString>, must_change: bool) -> Markup {
    let id = view.id.0;
    html! {
        section #user-form .panel.success-panel aria-labelledby="created-title" {
            h2 #created-title tabindex="-1" data-focus { "User " (view.login) " created" }
            @if let Some(p) = generated {
                p {
                    "A strong password was generated. Copy it now and give it to " (view.display_name)
                    " securely: it will not be shown again."
                }
                (ui::secret_box("new-password", "Password", p.expose_secret()))
            } @else {
                p { (view.display_name) " can sign in with the password you set." }
            }
            @if must_change { p { "They will be asked to choose a new password when they first sign in." } }
            div.button-row {
                a.button.primary href="/console/users" { "Back to users" }
                a.button href="/console/users/new" { "Create another user" }
                a.button.subtle href=(format!("/console/users/{id}/edit")) { "Edit " (view.login) }
            }
        }
    }
}
