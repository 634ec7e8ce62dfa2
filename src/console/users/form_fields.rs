//! The user form's markup: sections, selects, checklists, the error summary.

use maud::{Markup, html};

use super::form::{FLAGS, Mode, Values};
use crate::access::{Permission, Scope};
use crate::console::Catalog;
use crate::console::extract::ConsoleUser;
use crate::console::ui::{self, Field};
use crate::domain::DateFormat;
use crate::error::FieldIssue;
use crate::store::named::NamedRecord;
use crate::store::users::Link;

/// The single-valued fields the form sends (text inputs and selects).
pub(crate) const FORM_FIELDS: [&str; 19] = [
    "login",
    "email",
    "first_name",
    "last_name",
    "phone",
    "mobile",
    "extension",
    "sip_username",
    "phone_topology",
    "company",
    "related_contact",
    "external_id",
    "time_zone",
    "date_format",
    "time_format",
    "status",
    "status_reason",
    "two_factor_method",
    "two_factor_mode",
];

/// Fields shown by the form besides `FORM_FIELDS`: their messages appear next to them.
const OTHER_FIELDS: [&str; 9] = [
    "password",
    "password_confirm",
    "sip_password",
    "roles",
    "groups",
    "desks",
    "skills",
    "permissions",
    "is_company_supervisor",
];

pub(in crate::console) fn user_form(
    user: &ConsoleUser,
    catalog: &Catalog,
    v: &Values,
    issues: &[FieldIssue],
    mode: &Mode,
    top: Option<Markup>,
) -> Markup {
    let creating = matches!(mode, Mode::Create);
    let access = user.can(Permission::UsersEdit);
    let own = Own::of(user, mode);
    let text = |name: &'static str, label: &'static str| Field::new(name, label, v.get(name));
    let none = ("", "Not set");
    html! {
        form #user-form .user-form hx-post=(mode.action()) hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(t) = top { (t) }
            @if let Some(own) = &own { (own.note()) }
            (summary(issues))
            @if !creating { input type="hidden" name="version" value=(v.version); }
            div.form-grid {
                fieldset.card {
                    legend { "Sign-in" }
                    (text("login", "Login").required().autocomplete("off").maxlength(64).locked(own.is_some())
                        .hint(if own.is_some() {
                            "You sign in with it: another admin changes it."
                        } else {
                            "Latin letters, digits, “-”, “_” and “.”; unique in the account."
                        }).render(issues))
                    (text("email", "Email").kind("email").autocomplete("off").locked(own.is_some())
                        .hint(if own.is_some() {
                            "Your own email address changes under My Account, with your password."
                        } else {
                            "For invitations, email codes and password recovery."
                        }).render(issues))
                    @if creating { (password_choice(v, issues)) }
                }
                fieldset.card {
                    legend { "Status and security" }
                    @if v.get("status") == "invited" {
                        (select("status", "Status", &[("invited", "Invited")], v, issues,
                            Some("They become active by accepting their invitation (see Invitation)."), true))
                    } @else {
                        (select("status", "Status", &[("active", "Active"), ("disabled", "Disabled")], v, issues,
                            Some(if own.is_some() { "You cannot disable yourself." } else { "A disabled user cannot sign in." }), own.is_some()))
                    }
                    @if !creating && own.is_none() {
                        (text("status_reason", "Reason for a change of status").maxlength(500)
                            .hint("Kept in the activation log when the status changes.").render(issues))
                    }
                    (select("two_factor_method", "Two-factor method",
                        &[("disabled", "Disabled"), ("email", "Email Code"), ("totp", "OTP Authenticator"), ("either", "Either (the user picks)")], v, issues,
                        Some(if own.is_some() {
                            "Your own second factor changes under My Account → Two-factor, with your password."
                        } else {
                            "Second factor at sign-in. It is mandatory for admins."
                        }), own.is_some()))
                    (select("two_factor_mode", "Ask for it",
                        &[("always", "At every sign-in"), ("suspicious", "Only for suspicious sign-ins")], v, issues,
                        Some("Suspicious: from an address, device or country the user has not signed in from."), own.is_some()))
                    fieldset.checks {
                        legend { "Flags" }
                        @for (name, label) in FLAGS {
                            @if name != "is_superuser" || user.caller.platform_operator {
                                @let locked = own.is_some() && OWN_FLAGS.contains(&name);
                                (flag(name, label, v.flags.contains(&name), locked))
                            }
                        }
                        (errors_for("is_company_supervisor", issues))
                    }
                }
                fieldset.card {
                    legend { "Person" }
                    (text("first_name", "First name").render(issues))
                    (text("last_name", "Last name").render(issues))
                    @if own.as_ref().is_some_and(|o| o.company) {
                        (text("company", "Company").locked(true)
                            .hint("Your company bounds whom you manage: another admin changes it.").render(issues))
                    } @else {
                        (text("company", "Company").render(issues))
                    }
                    (text("related_contact", "Related contact").render(issues))
                    (text("external_id", "External ID").hint("The user's ID in another system, e.g. your CRM.").render(issues))
                }
                fieldset.card {
                    legend { "Telephony" }
                    (text("phone", "Phone").kind("tel").hint("International format, e.g. +4915112345678.").render(issues))
                    (text("mobile", "Mobile").kind("tel").hint("International format.").render(issues))
                    (text("extension", "Extension")
                        .hint("Digits; unique in the account. Without one the user cannot register a SIP phone.").render(issues))
                    (text("sip_username", "SIP user name").autocomplete("off").render(issues))
                    (Field::new("sip_password", "SIP password", "").kind("password").autocomplete("new-password")
                        .hint(if v.has_sip_password {
                            "A SIP password is set; it is never shown here. Leave blank to keep it."
                        } else {
                            "8–128 printable characters, for registering the user's phone. Needs an extension."
                        })
                        .render(issues))
                    @if v.has_sip_password {
                        input type="hidden" name="has_sip_password" value="on";
                        (ui::checkbox("clear_sip_password", "on", "Remove the SIP password", v.clear_sip_password,
                            "f-clear_sip_password"))
                    }
                    (select("phone_topology", "Phone topology", &[none, ("external_phone", "External phone"), ("web_phone", "Web phone")],
                        v, issues, None, false))
                }
                fieldset.card {
                    legend { "Preferences" }
                    (text("time_zone", "Time zone").list("tz-list").autocomplete("off")
                        .hint("An IANA name, e.g. Europe/Berlin. Start typing to choose.").render(issues))
                    datalist #tz-list { @for tz in chrono_tz::TZ_VARIANTS.iter() { option value=(tz.name()) {} } }
                    (select("date_format", "Date format", &date_formats(), v, issues, None, false))
                    (select("time_format", "Time format", &[none, ("12h", "12-hour"), ("24h", "24-hour")], v, issues, None, false))
                }
                fieldset.card.wide {
                    legend { "Roles and assignments" }
                    div.checklists {
                        @if access {
                            (checklist("roles", Link::Roles, catalog, &v.roles, issues, own.is_some()))
                            (checklist("groups", Link::Groups, catalog, &v.groups, issues, own.is_some()))
                        }
                        (checklist("desks", Link::Desks, catalog, &v.desks, issues, own.as_ref().is_some_and(|o| o.desks)))
                        (checklist("skills", Link::Skills, catalog, &v.skills, issues, false))
                    }
                }
                @if access { (permissions(user, v, issues, own.is_some())) }
            }
            div.form-actions {
                button.button.primary type="submit" { @if creating { "Create user" } @else { "Save changes" } }
                a.button.subtle href="/console/users" { "Cancel" }
            }
        }
    }
}

fn date_formats() -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("", "Not set")];
    v.extend(DateFormat::ALL.iter().map(|f| (f.as_str(), f.as_str())));
    v
}

/// "Fix these fields" at the top, each linking to its field; messages about no field go here too.
fn summary(issues: &[FieldIssue]) -> Markup {
    html! {
        @if !issues.is_empty() {
            div.alert.alert-error role="alert" tabindex="-1" data-focus {
                p { strong { "The user was not saved." } " Please correct the following:" }
                ul {
                    @for i in issues {
                        li {
                            @if FORM_FIELDS.contains(&i.field.as_str()) || OTHER_FIELDS.contains(&i.field.as_str()) {
                                a href=(format!("#f-{}", i.field)) { (ui::label_for(&i.field)) }
                            } @else { (ui::label_for(&i.field)) }
                            ": " (ui::sentence(&i.message))
                        }
                    }
                }
            }
        }
    }
}

fn errors_for(field: &str, issues: &[FieldIssue]) -> Markup {
    let errors: Vec<&FieldIssue> = issues.iter().filter(|i| i.field == field).collect();
    ui::field_errors(&format!("f-{field}-error"), &errors)
}

fn select(
    name: &str,
    label: &str,
    options: &[(&str, &str)],
    v: &Values,
    issues: &[FieldIssue],
    hint: Option<&str>,
    locked: bool,
) -> Markup {
    let id = format!("f-{name}");
    let current = v.get(name);
    let has_error = issues.iter().any(|i| i.field == name);
    let mut described = Vec::new();
    if hint.is_some() {
        described.push(format!("{id}-hint"));
    }
    if has_error {
        described.push(format!("{id}-error"));
    }
    let described = (!described.is_empty()).then(|| described.join(" "));
    // R28: changing an existing user's second factor asks for confirmation (console.js).
    let confirm = (name == "two_factor_method" && v.version > 0)
        .then_some("Change this user's two-factor method? They will use the new method at their next sign-in.");
    html! {
        div.field.has-error[has_error] {
            label for=(id) { (label) }
            select id=(id) name=(name) aria-describedby=[described] aria-invalid=[has_error.then_some("true")]
                data-confirm-change=[confirm] data-initial=[confirm.map(|_| current)] disabled[locked] {
                @for (value, text) in options { option value=(value) selected[*value == current] { (text) } }
            }
            @if locked { input type="hidden" name=(name) value=(current); }
            @if let Some(h) = hint { p.hint id=(format!("{id}-hint")) { (h) } }
            (errors_for(name, issues))
        }
    }
}

fn checklist(
    name: &str,
    link: Link,
    catalog: &Catalog,
    selected: &[i64],
    issues: &[FieldIssue],
    locked: bool,
) -> Markup {
    let (_, plural) = crate::console::link_names(link);
    let items: &[NamedRecord] = catalog.of(link);
    html! {
        fieldset.checklist id=(format!("f-{name}")) {
            legend { (plural) }
            @if items.is_empty() { p.muted { "None in this account yet." } }
            div.checklist-items {
                @for item in items {
                    div.check {
                        input type="checkbox" id=(format!("f-{name}-{}", item.id)) name=(name) value=(item.id)
                            checked[selected.contains(&item.id)] disabled[locked];
                        label for=(format!("f-{name}-{}", item.id)) {
                            (item.name)
                            @if !item.description.is_empty() { span.desc { (item.description) } }
                        }
                    }
                }
            }
            @if locked {
                p.hint { "Your own " (plural.to_lowercase()) " are changed by another admin." }
                @for id in selected { input type="hidden" name=(name) value=(id); }
            }
            (errors_for(name, issues))
        }
    }
}

/// A direct permission reaches the whole account, so it is offered only to a viewer who holds
/// it account-wide (D1).
fn offered(user: &ConsoleUser, p: Permission) -> bool {
    user.can(p) && user.caller.scope_for(p) == crate::access::Scope::Account
}

/// Only what the viewer may give is offered (D1), and what the user has already.
fn permissions(user: &ConsoleUser, v: &Values, issues: &[FieldIssue], locked: bool) -> Markup {
    let open = !v.permissions.is_empty() || issues.iter().any(|i| i.field == "permissions");
    html! {
        details.card.wide open[open] {
            summary { "Special permissions" span.muted { " — granted directly, beyond the user's roles (" (v.permissions.len()) ")" } }
            fieldset.checklist id="f-permissions" {
                legend.visually-hidden { "Special permissions" }
                div.checklist-items.permissions {
                    @for p in Permission::people_permissions().filter(|p| offered(user, *p) || v.permissions.iter().any(|x| x == p.as_str())) {
                        div.check {
                            input type="checkbox" id=(format!("f-perm-{}", p.as_str())) name="permissions" value=(p.as_str())
                                checked[v.permissions.iter().any(|x| x == p.as_str())] disabled[locked];
                            label for=(format!("f-perm-{}", p.as_str())) { code { (p.as_str()) } span.desc { (p.description()) } }
                        }
                    }
                }
                @if locked {
                    p.hint { "Your own special permissions are changed by another admin." }
                    @for p in &v.permissions { input type="hidden" name="permissions" value=(p); }
                }
                (errors_for("permissions", issues))
            }
        }
    }
}

/// The R40 flags, which bound whom one manages: not one's own to change (D3).
const OWN_FLAGS: [&str; 2] = ["is_end_user", "is_company_supervisor"];

/// The form of one's own user (D3): what decides one's identity and access is shown, not
/// changed here. The service refuses such changes all the same.
struct Own {
    /// The viewer's scope is their desks: their desks bound whom they manage.
    desks: bool,
    /// The viewer's scope is their company's end users.
    company: bool,
}

impl Own {
    fn of(user: &ConsoleUser, mode: &Mode) -> Option<Own> {
        match mode {
            Mode::Edit { id } if *id == user.caller.user.0 => {
                // As the service refuses them: while any permission is held within desks or a company.
                let holds = |scope: Scope| user.caller.scopes.values().any(|s| *s == scope);
                Some(Own { desks: holds(Scope::Desks), company: holds(Scope::Company) })
            }
            _ => None,
        }
    }

    fn note(&self) -> Markup {
        let mut fixed = vec!["status", "roles", "groups", "special permissions", "end-user flags"];
        if self.desks {
            fixed.push("desks");
        }
        if self.company {
            fixed.push("company");
        }
        let last = fixed.pop().unwrap_or_default();
        html! {
            div #own-user-note .alert.alert-info role="note" {
                p {
                    strong { "This is you." } " Your email address, password and second factor change under "
                    a href="/console/me" { "My account" } ", which asks for your current password. "
                    "Your " (fixed.join(", ")) " and " (last) " are shown here but only another admin can change them."
                }
            }
        }
    }
}

/// One R11 flag; `locked` shows it disabled and sends it unchanged.
fn flag(name: &str, label: &str, on: bool, locked: bool) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.check {
            input type="checkbox" id=(id) name=(name) value="on" checked[on] disabled[locked];
            label for=(id) { (label) }
            @if locked && on { input type="hidden" name=(name) value="on"; }
        }
    }
}

fn password_choice(v: &Values, issues: &[FieldIssue]) -> Markup {
    html! {
        fieldset.password-choice {
            legend { "Password" }
            div.check {
                input #pw-generate type="radio" name="password_mode" value="generate" checked[v.generate_password];
                label for="pw-generate" { "Generate a strong password (shown once, to copy)" }
            }
            div.check {
                input #pw-set type="radio" name="password_mode" value="set" checked[!v.generate_password];
                label for="pw-set" { "Set a password" }
            }
            div.password-fields {
                (Field::new("password", "Password", "").kind("password").autocomplete("new-password")
                    .hint("At least 8 characters.").render(issues))
                (Field::new("password_confirm", "Confirm password", "").kind("password").autocomplete("new-password").render(issues))
            }
            (ui::checkbox("must_change_password", "on", "Require a new password at first sign-in", v.must_change_password,
                "f-must_change_password"))
        }
    }
}
