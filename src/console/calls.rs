//! Call settings in the console (R38): the form a user's Calls tab and the account's defaults
//! share, the account's page (`/console/settings/calls`), and the telephony catalogs' page
//! (`/console/settings/telephony`: dial rule sets, music on hold, intercept groups).

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::extract::{ConsoleUser, Failure, OrFail, go};
use super::ui::{self, Nav};
use super::{Pairs, all, first};
use crate::access::Permission;
use crate::calls::catalog::{self, CallCatalogInput, CallCatalogItem};
use crate::calls::dial_plan::{DialRule, RuleAction};
use crate::calls::settings::{
    self, AccountCallSettings, CallSettingsInput, CallValues, InterceptInput, MaskNumber, Source, UserCallSettings,
};
use crate::error::{Error, FieldIssue};
use crate::ids::AccountId;
use crate::state::AppState;
use crate::store::calls::CallCatalog;

/// The catalogs' items the form offers.
pub(in crate::console) struct Choices {
    dial_rules: Vec<CallCatalogItem>,
    music: Vec<CallCatalogItem>,
    groups: Vec<CallCatalogItem>,
}

async fn all_of(state: &AppState, kind: CallCatalog, account: AccountId) -> crate::error::Result<Vec<CallCatalogItem>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = catalog::page(state, kind, account, cursor.as_deref(), 500).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

pub(in crate::console) async fn choices(state: &AppState, account: AccountId) -> crate::error::Result<Choices> {
    Ok(Choices {
        dial_rules: all_of(state, CallCatalog::DialRules, account).await?,
        music: all_of(state, CallCatalog::MusicOnHold, account).await?,
        groups: all_of(state, CallCatalog::InterceptGroups, account).await?,
    })
}

/// Whose settings a form edits: a user's (each setting may be "the account's default") or the
/// account's defaults themselves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Whose {
    User,
    Account,
}

/// What the form shows, as text: an empty value is "the account's default" in a user's form.
#[derive(Default)]
pub(super) struct Shown {
    dial_rules: String,
    /// Whether the form sent the dial rules (a viewer who may not choose them sees them disabled).
    dial_rules_given: bool,
    max_calls: String,
    music: String,
    call_waiting: String,
    record_calls: String,
    mask_number: String,
    caller_id: String,
    timeout: String,
    /// `own` or `default` (users only).
    blf_mode: String,
    blf: String,
    intercept_mode: String,
    member_of: Vec<i64>,
    picks_up: Vec<i64>,
    version: i64,
}

fn on_off(v: bool) -> String {
    if v { "on".into() } else { "off".into() }
}

impl Shown {
    fn of_values(v: &CallValues, version: i64) -> Shown {
        Shown {
            dial_rules: v.dial_rules.as_ref().map(|r| r.id.to_string()).unwrap_or_default(),
            dial_rules_given: true,
            max_calls: v.max_calls.to_string(),
            music: v.music_on_hold.as_ref().map(|r| r.id.to_string()).unwrap_or_default(),
            call_waiting: on_off(v.call_waiting),
            record_calls: on_off(v.record_calls),
            mask_number: v.mask_number.as_str().to_string(),
            caller_id: v.caller_id.clone().unwrap_or_default(),
            timeout: v.no_answer_timeout.to_string(),
            blf_mode: "own".into(),
            blf: v.blf.join(", "),
            intercept_mode: "own".into(),
            member_of: v.intercept.member_of.iter().map(|r| r.id).collect(),
            picks_up: v.intercept.picks_up.iter().map(|r| r.id).collect(),
            version,
        }
    }

    /// A user's: their own values shown, the account's left empty (the default option).
    fn of_user(s: &UserCallSettings) -> Shown {
        let own = |source: Source, text: String| if source == Source::User { text } else { String::new() };
        Shown {
            dial_rules: own(
                s.dial_rules.source,
                s.dial_rules.value.as_ref().map(|r| r.id.to_string()).unwrap_or_default(),
            ),
            dial_rules_given: true,
            max_calls: own(s.max_calls.source, s.max_calls.value.to_string()),
            music: own(
                s.music_on_hold.source,
                s.music_on_hold.value.as_ref().map(|r| r.id.to_string()).unwrap_or_default(),
            ),
            call_waiting: own(s.call_waiting.source, on_off(s.call_waiting.value)),
            record_calls: own(s.record_calls.source, on_off(s.record_calls.value)),
            mask_number: own(s.mask_number.source, s.mask_number.value.as_str().to_string()),
            caller_id: own(s.caller_id.source, s.caller_id.value.clone().unwrap_or_default()),
            timeout: own(s.no_answer_timeout.source, s.no_answer_timeout.value.to_string()),
            blf_mode: if s.blf.source == Source::User { "own".into() } else { "default".into() },
            blf: s.blf.value.join(", "),
            intercept_mode: if s.intercept.source == Source::User { "own".into() } else { "default".into() },
            member_of: s.intercept.value.member_of.iter().map(|r| r.id).collect(),
            picks_up: s.intercept.value.picks_up.iter().map(|r| r.id).collect(),
            version: s.version,
        }
    }

    fn from_form(f: &Pairs) -> Shown {
        let text = |k: &str| first(f, k).unwrap_or_default().trim().to_string();
        let ids = |k: &str| all(f, k).filter_map(|v| v.parse().ok()).collect();
        Shown {
            dial_rules: text("dial_rules"),
            dial_rules_given: first(f, "dial_rules").is_some(),
            max_calls: text("max_calls"),
            music: text("music_on_hold"),
            call_waiting: text("call_waiting"),
            record_calls: text("record_calls"),
            mask_number: text("mask_number"),
            caller_id: text("caller_id"),
            timeout: text("no_answer_timeout"),
            blf_mode: text("blf_mode"),
            blf: text("blf"),
            intercept_mode: text("intercept_mode"),
            member_of: ids("member_of"),
            picks_up: ids("picks_up"),
            version: first(f, "version").and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }

    /// Every setting, as the service takes it: an empty choice is `null` (a user's: back to the
    /// account's default; the account's: none, or the built-in default). Text that is not a
    /// number is sent as one the service refuses by name.
    fn input(&self, whose: Whose) -> CallSettingsInput {
        let id = |t: &str| if t.is_empty() { None } else { Some(t.parse().unwrap_or(0)) };
        let number = |t: &str| if t.is_empty() { None } else { Some(t.parse().unwrap_or(-1)) };
        let flag = |t: &str| match t {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        };
        let text = |t: &str| (!t.is_empty()).then(|| t.to_string());
        let own = |mode: &str| whose == Whose::Account || mode == "own";
        CallSettingsInput {
            dial_rules: self.dial_rules_given.then(|| id(&self.dial_rules)),
            max_calls: Some(number(&self.max_calls)),
            music_on_hold: Some(id(&self.music)),
            call_waiting: Some(flag(&self.call_waiting)),
            record_calls: Some(flag(&self.record_calls)),
            mask_number: Some(text(&self.mask_number)),
            caller_id: Some(text(&self.caller_id)),
            no_answer_timeout: Some(number(&self.timeout)),
            blf: Some(own(&self.blf_mode).then(|| {
                self.blf.split([',', ' ', '\n']).map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).collect()
            })),
            intercept: Some(
                own(&self.intercept_mode)
                    .then(|| InterceptInput { member_of: self.member_of.clone(), picks_up: self.picks_up.clone() }),
            ),
        }
    }
}

fn names(list: &[crate::model::user::Ref]) -> String {
    if list.is_empty() { "none".into() } else { list.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ") }
}

/// The account's default of each setting, as a hint in a user's form.
fn default_text(d: &CallValues, field: &str) -> String {
    let yes_no = |v: bool| if v { "yes" } else { "no" };
    match field {
        "dial_rules" => d.dial_rules.as_ref().map_or("no rule set".into(), |r| r.name.clone()),
        "max_calls" => d.max_calls.to_string(),
        "music_on_hold" => d.music_on_hold.as_ref().map_or("the PBX's music".into(), |r| r.name.clone()),
        "call_waiting" => yes_no(d.call_waiting).into(),
        "record_calls" => yes_no(d.record_calls).into(),
        "mask_number" => d.mask_number.as_str().into(),
        "caller_id" => d.caller_id.clone().unwrap_or_else(|| "the trunk's number".into()),
        "no_answer_timeout" => format!("{} s", d.no_answer_timeout),
        "blf" => {
            if d.blf.is_empty() {
                "none".into()
            } else {
                d.blf.join(", ")
            }
        }
        _ => format!("member of {}; picks up {}", names(&d.intercept.member_of), names(&d.intercept.picks_up)),
    }
}

/// One row: a label, the control, and (in a user's form) the account's default and whether the
/// setting is the user's own.
fn row(
    field: &str,
    label: &str,
    control: Markup,
    default: Option<(&CallValues, bool)>,
    issues: &[FieldIssue],
) -> Markup {
    let mine: Vec<&FieldIssue> = issues
        .iter()
        .filter(|i| {
            i.field == field || i.field.starts_with(&format!("{field}[")) || i.field.starts_with(&format!("{field}."))
        })
        .collect();
    html! {
        div.field.call-setting .has-error[!mine.is_empty()] #(format!("setting-{field}")) {
            label for=(format!("f-{field}")) { (label) }
            (control)
            @if let Some((d, own)) = default {
                p.hint {
                    @if own { span.tag { "Own value" } " " } @else { span.tag.muted { "Account default" } " " }
                    "Account default: " (default_text(d, field))
                }
            }
            (ui::field_errors(&format!("f-{field}-error"), &mine))
        }
    }
}

fn select(field: &str, options: Vec<(String, String)>, selected: &str, enabled: bool) -> Markup {
    html! {
        select id=(format!("f-{field}")) name=(field) disabled[!enabled] {
            @for (value, text) in options { option value=(value) selected[value == selected] { (text) } }
        }
    }
}

/// What a form is for: where it posts, whose settings, and (a user's) where each comes from and
/// the account's defaults, shown beside each.
pub(super) struct Edit<'a> {
    action: &'a str,
    whose: Whose,
    sources: Option<&'a UserCallSettings>,
    defaults: Option<&'a CallValues>,
    choices: &'a Choices,
    editable: bool,
    /// A user's dial rules are chosen only with `dial_rules.manage`.
    rules_editable: bool,
}

/// The form: a user's or the account's.
pub(super) fn form(edit: &Edit<'_>, shown: &Shown, issues: &[FieldIssue], top: Option<Markup>) -> Markup {
    let Edit { action, whose, sources, defaults, choices, editable, rules_editable } = *edit;
    let first_option = match whose {
        Whose::User => "Account default",
        Whose::Account => "None",
    };
    let catalog_options = |items: &[CallCatalogItem]| {
        let mut o = vec![(String::new(), first_option.to_string())];
        o.extend(items.iter().map(|i| (i.id.to_string(), i.name.clone())));
        o
    };
    let choice = |pairs: &[(&str, &str)]| {
        let mut o = Vec::new();
        if whose == Whose::User {
            o.push((String::new(), "Account default".to_string()));
        }
        o.extend(pairs.iter().map(|(v, t)| (v.to_string(), t.to_string())));
        o
    };
    let own = |s: Source| s == Source::User;
    let d = |field_source: Option<Source>| defaults.zip(field_source).map(|(d, s)| (d, own(s)));
    let src = |f: fn(&UserCallSettings) -> Source| sources.map(f);
    let number = |field: &str, value: &str, min: i64, max: i64| {
        html! {
            input id=(format!("f-{field}")) type="number" name=(field) min=(min) max=(max) value=(value) disabled[!editable]
                placeholder=[(whose == Whose::User).then_some("Account default")];
        }
    };
    let mode_select = |field: &str, value: &str| {
        html! {
            @if whose == Whose::User {
                select id=(format!("f-{field}")) name=(field) disabled[!editable] {
                    option value="default" selected[value != "own"] { "Account default" }
                    option value="own" selected[value == "own"] { "Own" }
                }
            }
        }
    };
    html! {
        form #call-settings-form .panel hx-post=(action) hx-target="this" hx-swap="outerHTML" novalidate {
            @if let Some(t) = top { (t) }
            (ui::issues_alert("The call settings were not saved", issues))
            input type="hidden" name="version" value=(shown.version);
            div.narrow-fields {
                (row("dial_rules", "Dial rules", select("dial_rules", catalog_options(&choices.dial_rules), &shown.dial_rules, editable && rules_editable),
                    d(src(|s| s.dial_rules.source)), issues))
                (row("max_calls", "Maximum simultaneous calls", number("max_calls", &shown.max_calls, 1, settings::MOST_CALLS),
                    d(src(|s| s.max_calls.source)), issues))
                (row("music_on_hold", "Music on hold", select("music_on_hold", catalog_options(&choices.music), &shown.music, editable),
                    d(src(|s| s.music_on_hold.source)), issues))
                (row("call_waiting", "Call waiting", select("call_waiting", choice(&[("on", "Allowed"), ("off", "Not allowed")]), &shown.call_waiting, editable),
                    d(src(|s| s.call_waiting.source)), issues))
                (row("record_calls", "Record calls", select("record_calls", choice(&[("on", "Yes"), ("off", "No")]), &shown.record_calls, editable),
                    d(src(|s| s.record_calls.source)), issues))
                (row("mask_number", "Mask phone number", select("mask_number", choice(&MaskNumber::ALL.map(|m| (m.as_str(), m.as_str()))), &shown.mask_number, editable),
                    d(src(|s| s.mask_number.source)), issues))
                (row("caller_id", "Outbound caller ID", html! {
                    input #f-caller_id type="text" name="caller_id" value=(shown.caller_id) maxlength="20" disabled[!editable]
                        placeholder=(if whose == Whose::User { "Account default" } else { "The trunk's number" });
                }, d(src(|s| s.caller_id.source)), issues))
                (row("no_answer_timeout", "No-answer timeout (seconds)",
                    number("no_answer_timeout", &shown.timeout, *settings::TIMEOUT_RANGE.start(), *settings::TIMEOUT_RANGE.end()),
                    d(src(|s| s.no_answer_timeout.source)), issues))
                (row("blf", "BLF extensions", html! {
                    (mode_select("blf_mode", &shown.blf_mode))
                    input #f-blf type="text" name="blf" value=(shown.blf) disabled[!editable] aria-label="BLF extensions"
                        placeholder="101, 102";
                }, d(src(|s| s.blf.source)), issues))
            }
            fieldset #f-intercept .checklist {
                legend { "Intercept groups" }
                (mode_select("intercept_mode", &shown.intercept_mode))
                @if let (Some(d), Some(s)) = (defaults, sources) {
                    p.hint {
                        @if own(s.intercept.source) { span.tag { "Own value" } " " } @else { span.tag.muted { "Account default" } " " }
                        "Account default: " (default_text(d, "intercept"))
                    }
                }
                @if choices.groups.is_empty() { p.muted { "No intercept groups yet." } }
                div.checklist-items {
                    @for g in &choices.groups {
                        div.check {
                            input type="checkbox" id=(format!("f-member-{}", g.id)) name="member_of" value=(g.id)
                                checked[shown.member_of.contains(&g.id)] disabled[!editable];
                            label for=(format!("f-member-{}", g.id)) { "Rings in " (g.name) }
                        }
                        div.check {
                            input type="checkbox" id=(format!("f-pickup-{}", g.id)) name="picks_up" value=(g.id)
                                checked[shown.picks_up.contains(&g.id)] disabled[!editable];
                            label for=(format!("f-pickup-{}", g.id)) { "Picks up " (g.name) }
                        }
                    }
                }
                (ui::field_errors("f-intercept-error", &issues.iter().filter(|i| i.field.starts_with("intercept")).collect::<Vec<_>>()))
            }
            @if editable {
                div.form-actions { button.button.primary type="submit" { "Save call settings" } }
            }
        }
    }
}

/// The outcome of a save that the form shows again: the issues and a message on top.
pub(super) fn refused(err: Error) -> Result<(Vec<FieldIssue>, Option<Markup>), Error> {
    match err {
        err @ (Error::Validation(_) | Error::Conflict { .. } | Error::StateConflict(_)) => {
            Ok((err.field_issues(), None))
        }
        Error::PreconditionFailed => Ok((
            Vec::new(),
            Some(ui::alert("error", "Someone else changed these settings; reload the page to see their change.")),
        )),
        other => Err(other),
    }
}

/// `GET /console/settings/calls`: the account's defaults.
pub(super) async fn account_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsView).await?;
    let current = settings::account_settings(&state, account.id).await.or_fail(&user)?;
    let choices = choices(&state, account.id).await.or_fail(&user)?;
    let editable = user.can(Permission::SettingsManage);
    let body = html! {
        (ui::page_head("Call settings", Some("What every user has unless their own call settings say otherwise."), html! {
            a.button.subtle href="/console/settings/telephony" { "Dial rules, music and intercept groups" }
            a.button.subtle href="/console/settings/security" { "Security settings" }
        }))
        @if first(&q, "notice") == Some("saved") { (ui::alert("success", "The call settings were saved.")) }
        @if !editable { (ui::alert("info", "Changing them needs the permission settings.manage.")) }
        (form(&Edit { action: "/console/settings/calls", whose: Whose::Account, sources: None, defaults: None,
            choices: &choices, editable, rules_editable: editable }, &Shown::of_values(&current.values, current.version), &[], None))
    };
    Ok(user.page(Nav::Settings, "Call settings", body))
}

/// `POST /console/settings/calls`.
pub(super) async fn account_save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::SettingsManage).await?;
    let shown = Shown::from_form(&f);
    let principal = user.principal(&account, Permission::SettingsManage);
    let (issues, top) =
        match settings::set_account(&state, &principal, shown.version, shown.input(Whose::Account)).await {
            Ok(AccountCallSettings { .. }) => return Ok(go(user.htmx, "/console/settings/calls?notice=saved")),
            Err(err) => refused(err).map_err(|e| user.fail(e))?,
        };
    let choices = choices(&state, account.id).await.or_fail(&user)?;
    let edit = Edit {
        action: "/console/settings/calls",
        whose: Whose::Account,
        sources: None,
        defaults: None,
        choices: &choices,
        editable: true,
        rules_editable: true,
    };
    let page = form(&edit, &shown, &issues, top);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// A catalog's slug in the console's paths.
fn kind_of(slug: &str) -> Option<CallCatalog> {
    match slug {
        "dial-rules" => Some(CallCatalog::DialRules),
        "music-on-hold" => Some(CallCatalog::MusicOnHold),
        "intercept-groups" => Some(CallCatalog::InterceptGroups),
        _ => None,
    }
}

fn slug_of(kind: CallCatalog) -> &'static str {
    match kind {
        CallCatalog::DialRules => "dial-rules",
        CallCatalog::MusicOnHold => "music-on-hold",
        CallCatalog::InterceptGroups => "intercept-groups",
    }
}

fn permissions(kind: CallCatalog) -> (Permission, Permission) {
    match kind {
        CallCatalog::DialRules => (Permission::DialRulesView, Permission::DialRulesManage),
        CallCatalog::MusicOnHold => (Permission::MusicOnHoldView, Permission::MusicOnHoldManage),
        CallCatalog::InterceptGroups => (Permission::InterceptGroupsView, Permission::InterceptGroupsManage),
    }
}

/// Rules as the form writes them, a line each: `allow _1XX`, `deny _0900X.`.
fn rules_text(rules: &[DialRule]) -> String {
    rules
        .iter()
        .map(|r| format!("{} {}", if r.action == RuleAction::Allow { "allow" } else { "deny" }, r.pattern))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lines `allow PATTERN` / `deny PATTERN` (a bare pattern allows); a word that is neither is
/// kept in the pattern, for the service to refuse by name.
fn rules_from_text(text: &str) -> Vec<DialRule> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once(char::is_whitespace) {
            Some(("allow", p)) => DialRule { pattern: p.trim().to_string(), action: RuleAction::Allow },
            Some(("deny", p)) => DialRule { pattern: p.trim().to_string(), action: RuleAction::Deny },
            _ => DialRule { pattern: line.to_string(), action: RuleAction::Allow },
        })
        .collect()
}

/// `GET /console/settings/telephony`: the three catalogs, each with its items and a form to add.
pub(super) async fn telephony_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    render_telephony(&state, &user, first(&q, "notice"), None).await
}

/// What was typed into an item's form: name, description, rules.
type Typed = (String, String, String);

/// An item's form that was refused: which (`None`: the one that adds), why, and what was typed.
struct RefusedItem {
    kind: CallCatalog,
    id: Option<i64>,
    issues: Vec<FieldIssue>,
    typed: Typed,
}

async fn render_telephony(
    state: &AppState,
    user: &ConsoleUser,
    notice: Option<&str>,
    refused: Option<RefusedItem>,
) -> Result<Response, Failure> {
    let kinds = [CallCatalog::DialRules, CallCatalog::MusicOnHold, CallCatalog::InterceptGroups];
    // Any of the three catalogs' view permissions opens the page, which shows those it covers.
    let view = kinds.iter().map(|k| permissions(*k).0).find(|p| user.can(*p)).unwrap_or(Permission::DialRulesView);
    let account = user.allow(state, view).await?;
    let mut sections = Vec::new();
    for kind in kinds.into_iter().filter(|k| user.can(permissions(*k).0)) {
        sections.push((kind, all_of(state, kind, account.id).await.or_fail(user)?));
    }
    let body = html! {
        (ui::page_head("Dial rules, music and intercept groups", Some("What users' call settings choose from."), html! {
            a.button.subtle href="/console/settings/calls" { "Call settings" }
        }))
        @match notice {
            Some("saved") => { (ui::alert("success", "Saved.")) },
            Some("deleted") => { (ui::alert("success", "Deleted.")) },
            _ => {},
        }
        @for (kind, items) in &sections {
            @let manage = user.can(permissions(*kind).1);
            @let slug = slug_of(*kind);
            section.panel #(slug) {
                h2 { (match kind { CallCatalog::DialRules => "Dial rule sets", CallCatalog::MusicOnHold => "Music on hold", CallCatalog::InterceptGroups => "Intercept groups" }) }
                @if *kind == CallCatalog::DialRules {
                    p.hint { "One rule a line: allow or deny, then a pattern (_1XX, _0[1-9]X., _00X.). The first rule that matches a dialled number decides; a number none matches is denied." }
                }
                @if items.is_empty() { p.muted { "None yet." } }
                @for item in items {
                    @let mine = refused.as_ref().filter(|r| r.kind == *kind && r.id == Some(item.id));
                    (item_form(*kind, Some(item), mine.map(|r| r.issues.as_slice()).unwrap_or_default(),
                        mine.map(|r| &r.typed), manage))
                }
                @if manage {
                    @let mine = refused.as_ref().filter(|r| r.kind == *kind && r.id.is_none());
                    h3 { "Add" }
                    (item_form(*kind, None, mine.map(|r| r.issues.as_slice()).unwrap_or_default(), mine.map(|r| &r.typed), true))
                }
            }
        }
    };
    Ok(user.page(Nav::Settings, "Dial rules, music and intercept groups", body))
}

fn item_form(
    kind: CallCatalog,
    item: Option<&CallCatalogItem>,
    issues: &[FieldIssue],
    typed: Option<&Typed>,
    manage: bool,
) -> Markup {
    let slug = slug_of(kind);
    let key = item.map_or("new".to_string(), |i| i.id.to_string());
    let (name, description, rules) = match (typed, item) {
        (Some((n, d, r)), _) => (n.clone(), d.clone(), r.clone()),
        (None, Some(i)) => (i.name.clone(), i.description.clone(), rules_text(i.rules.as_deref().unwrap_or_default())),
        (None, None) => Default::default(),
    };
    let action = match item {
        Some(i) => format!("/console/settings/telephony/{slug}/{}", i.id),
        None => format!("/console/settings/telephony/{slug}"),
    };
    html! {
        form.catalog-item hx-post=(action) hx-target="#main" hx-select="#main" hx-swap="outerHTML" novalidate {
            (ui::issues_alert("Not saved", issues))
            @if let Some(i) = item { input type="hidden" name="version" value=(i.version); }
            div.inline-fields {
                label.visually-hidden for=(format!("{slug}-{key}-name")) { "Name" }
                input id=(format!("{slug}-{key}-name")) type="text" name="name" value=(name) maxlength="80" placeholder="Name" disabled[!manage];
                label.visually-hidden for=(format!("{slug}-{key}-description")) { "Description" }
                input id=(format!("{slug}-{key}-description")) type="text" name="description" value=(description)
                    maxlength="500" placeholder="Description" disabled[!manage];
            }
            @if kind == CallCatalog::DialRules {
                label.visually-hidden for=(format!("{slug}-{key}-rules")) { "Rules" }
                textarea id=(format!("{slug}-{key}-rules")) name="rules" rows="3" disabled[!manage] placeholder="allow _1XX" { (rules) }
            }
            @if manage {
                div.form-actions {
                    button.button.small type="submit" { @if item.is_some() { "Save" } @else { "Add" } }
                    @if let Some(i) = item {
                        button.button.subtle.small.danger-text type="button"
                            hx-post=(format!("/console/settings/telephony/{slug}/{}/delete", i.id))
                            hx-confirm=(format!("Delete {}?", i.name)) { "Delete" span.visually-hidden { " " (i.name) } }
                    }
                }
            }
        }
    }
}

/// `POST /console/settings/telephony/{kind}`: add an item.
pub(super) async fn telephony_add(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(slug): Path<String>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    telephony_save(state, user, &slug, None, f).await
}

/// `POST /console/settings/telephony/{kind}/{id}`: save an item.
pub(super) async fn telephony_update(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((slug, id)): Path<(String, i64)>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    telephony_save(state, user, &slug, Some(id), f).await
}

async fn telephony_save(
    state: AppState,
    user: ConsoleUser,
    slug: &str,
    id: Option<i64>,
    f: Pairs,
) -> Result<Response, Failure> {
    let Some(kind) = kind_of(slug) else { return Err(user.fail(Error::NotFound("page"))) };
    let account = user.allow(&state, permissions(kind).1).await?;
    let principal = user.principal(&account, permissions(kind).1);
    let typed = (
        first(&f, "name").unwrap_or_default().trim().to_string(),
        first(&f, "description").unwrap_or_default().trim().to_string(),
        first(&f, "rules").unwrap_or_default().to_string(),
    );
    let input = CallCatalogInput {
        name: Some(typed.0.clone()),
        description: Some(typed.1.clone()),
        rules: (kind == CallCatalog::DialRules).then(|| rules_from_text(&typed.2)),
    };
    let version = first(&f, "version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let result = match id {
        Some(id) => catalog::update(&state, &principal, kind, id, version, input).await.map(|_| ()),
        None => catalog::create(&state, &principal, kind, input).await.map(|_| ()),
    };
    match result {
        Ok(()) => Ok(go(user.htmx, "/console/settings/telephony?notice=saved")),
        Err(err) => {
            let (issues, _) = refused(err).map_err(|e| user.fail(e))?;
            let issues = if issues.is_empty() {
                vec![FieldIssue::new("name", "changed", "someone else changed this; reload the page")]
            } else {
                issues
            };
            let page = render_telephony(&state, &user, None, Some(RefusedItem { kind, id, issues, typed })).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

/// `POST /console/settings/telephony/{kind}/{id}/delete`.
pub(super) async fn telephony_delete(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, Failure> {
    let Some(kind) = kind_of(&slug) else { return Err(user.fail(Error::NotFound("page"))) };
    let account = user.allow(&state, permissions(kind).1).await?;
    catalog::delete(&state, &user.principal(&account, permissions(kind).1), kind, id).await.or_fail(&user)?;
    Ok(go(user.htmx, "/console/settings/telephony?notice=deleted"))
}

/// A user's Calls tab: `GET /console/users/{id}/calls`.
pub(super) async fn user_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersView).await?;
    let principal = user.principal(&account, Permission::UsersView);
    let view = crate::users::service::get(&state, &principal, crate::ids::UserId(id)).await.or_fail(&user)?;
    let current = settings::user_settings(&state, &principal, crate::ids::UserId(id)).await.or_fail(&user)?;
    let defaults = settings::account_settings(&state, account.id).await.or_fail(&user)?;
    let choices = choices(&state, account.id).await.or_fail(&user)?;
    let editable = user.can(Permission::UsersEdit);
    let title = format!("Calls of {}", view.login);
    let action = format!("/console/users/{id}/calls");
    let body = html! {
        (super::users::actions::breadcrumbs(&view, "Calls"))
        (ui::page_head(&title, Some("Each setting is the account's default or this user's own; choose the default to return to it."),
            html! { a.button.subtle href=(format!("/console/users/{id}/edit")) { "Edit user" } }))
        @if first(&q, "notice") == Some("saved") { (ui::alert("success", "The call settings were saved.")) }
        (form(&Edit { action: &action, whose: Whose::User, sources: Some(&current), defaults: Some(&defaults.values),
            choices: &choices, editable, rules_editable: user.can(Permission::DialRulesManage) },
            &Shown::of_user(&current), &[], None))
    };
    Ok(user.page(Nav::Users, &title, body))
}

/// `POST /console/users/{id}/calls`.
pub(super) async fn user_save(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<Pairs>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    let shown = Shown::from_form(&f);
    let target = crate::ids::UserId(id);
    let (issues, top) =
        match settings::set_user(&state, &principal, target, shown.version, shown.input(Whose::User)).await {
            Ok(_) => return Ok(go(user.htmx, &format!("/console/users/{id}/calls?notice=saved"))),
            Err(err) => refused(err).map_err(|e| user.fail(e))?,
        };
    let viewer = user.principal(&account, Permission::UsersView);
    let current = settings::user_settings(&state, &viewer, target).await.or_fail(&user)?;
    let defaults = settings::account_settings(&state, account.id).await.or_fail(&user)?;
    let choices = choices(&state, account.id).await.or_fail(&user)?;
    let action = format!("/console/users/{id}/calls");
    let edit = Edit {
        action: &action,
        whose: Whose::User,
        sources: Some(&current),
        defaults: Some(&defaults.values),
        choices: &choices,
        editable: true,
        rules_editable: user.can(Permission::DialRulesManage),
    };
    let page = form(&edit, &shown, &issues, top);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// A select's options: (value, text).
type Options = Vec<(String, String)>;

/// The mass-action bar's fields for `set_call_settings`: each setting left as it is (the
/// default choice), returned to the account's default, or set. BLF, caller ID and intercept
/// groups are set one user at a time here (the API's mass action takes them too).
pub(in crate::console) fn bulk_fields(choices: &Choices) -> Markup {
    let leave = [("", "Leave as it is"), ("default", "Account default")];
    let with = |extra: Vec<(String, String)>| {
        let mut o: Vec<(String, String)> = leave.iter().map(|(v, t)| (v.to_string(), t.to_string())).collect();
        o.extend(extra);
        o
    };
    let items = |list: &[CallCatalogItem]| list.iter().map(|i| (i.id.to_string(), i.name.clone())).collect::<Vec<_>>();
    let pairs = |list: &[(&str, &str)]| list.iter().map(|(v, t)| (v.to_string(), t.to_string())).collect::<Vec<_>>();
    let numbers = |n: std::ops::RangeInclusive<i64>| n.map(|v| (v.to_string(), v.to_string())).collect::<Vec<_>>();
    let fields: [(&str, &str, Options); 7] = [
        ("dial_rules", "Dial rules", with(items(&choices.dial_rules))),
        ("max_calls", "Maximum simultaneous calls", with(numbers(1..=settings::MOST_CALLS))),
        ("music_on_hold", "Music on hold", with(items(&choices.music))),
        ("call_waiting", "Call waiting", with(pairs(&[("on", "Allowed"), ("off", "Not allowed")]))),
        ("record_calls", "Record calls", with(pairs(&[("on", "Yes"), ("off", "No")]))),
        (
            "mask_number",
            "Mask phone number",
            with(MaskNumber::ALL.iter().map(|m| (m.as_str().to_string(), m.as_str().to_string())).collect()),
        ),
        (
            "no_answer_timeout",
            "No-answer timeout",
            with([10, 15, 20, 30, 45, 60, 90, 120].iter().map(|s| (s.to_string(), format!("{s} s"))).collect()),
        ),
    ];
    html! {
        @for (field, label, options) in fields {
            div.field {
                label for=(format!("bulk-cs-{field}")) { (label) }
                select id=(format!("bulk-cs-{field}")) name=(format!("cs_{field}")) {
                    @for (value, text) in options { option value=(value) { (text) } }
                }
            }
        }
        p.hint { "Settings left as they are do not change; Account default returns a setting to the account's." }
    }
}

/// The mass action's settings from the bar's fields: only those not left as they are.
pub(in crate::console) fn bulk_input(form: &Pairs) -> CallSettingsInput {
    let pick = |field: &str| -> Option<Option<String>> {
        match first(form, &format!("cs_{field}")).map(str::trim).unwrap_or_default() {
            "" => None,
            "default" => Some(None),
            value => Some(Some(value.to_string())),
        }
    };
    let number = |field: &str| pick(field).map(|v| v.map(|t| t.parse().unwrap_or(-1)));
    let flag = |field: &str| pick(field).map(|v| v.map(|t| t == "on"));
    CallSettingsInput {
        dial_rules: number("dial_rules"),
        max_calls: number("max_calls"),
        music_on_hold: number("music_on_hold"),
        call_waiting: flag("call_waiting"),
        record_calls: flag("record_calls"),
        mask_number: pick("mask_number"),
        no_answer_timeout: number("no_answer_timeout"),
        ..Default::default()
    }
}
