//! The authorization matrix (DESIGN "Delegated administration"): every route that changes a
//! user, through the API and the console's forms, tried by every kind of actor on every kind
//! of target. The expected answer comes from the rules, written once below (`expected`), not
//! case by case; after every refusal the target is read back to show nothing changed.
//!
//! Actors: an account admin; a desk lead (a role of scope `desks`); a role with only
//! `users.edit`; a role with `roles.manage`; a company supervisor and an end user (R40) whose
//! role is account-wide but whose flags narrow it; an API token with a subset of its admin's
//! permissions. Targets: the actor themself, a peer (at the actor's desk, an end user of the
//! actor's company, holding nothing), a user of another desk, an admin, a platform operator,
//! another account's user. Each case gets a fresh target, so one case's change cannot decide
//! another's answer.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Console, Engine, TestApp, id_of, list_items, png};

both_engines!(every_route_actor_and_target_answers_as_the_rules_say, role_changes_answer_as_the_rules_say);

const PW: &str = "correct-horse-9";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Actor {
    Admin,
    DeskLead,
    Editor,
    RoleManager,
    CompanySupervisor,
    EndUser,
    Token,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Own,
    Peer,
    OtherDesk,
    Admin,
    Operator,
    OtherAccount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Patch,
    GrantRole,
    Delete,
    Password,
    Unlock,
    Security,
    AccessRules,
    EndSessions,
    EnrolmentLink,
    Avatar,
    SipCredentials,
    ResetAuthenticator,
    BulkDeactivate,
    BulkActivate,
    BulkGrantRole,
    Deactivate,
    BulkSchedule,
    ConsoleDelete,
    ConsolePassword,
    ConsoleUnlock,
    ConsoleEndSessions,
    ConsoleAccessRules,
    ConsoleDeactivate,
    QueueJoin,
    BulkAddToQueue,
    CallSettings,
    BulkCallSettings,
    UnlinkIdentity,
}

/// What the admin routes do with one's own id (D3).
#[derive(Debug, Clone, Copy)]
enum OnSelf {
    Allowed,
    /// Refused before anything else is looked at.
    RefusedFirst(u16),
    /// Refused once the target is known to be reachable.
    RefusedAfterReach(u16),
}

struct Spec {
    permission: &'static str,
    success: u16,
    on_self: OnSelf,
    /// The answer for a user the actor does not see (or of another account).
    unseen: u16,
}

const ACTORS: [Actor; 7] = [
    Actor::Admin,
    Actor::DeskLead,
    Actor::Editor,
    Actor::RoleManager,
    Actor::CompanySupervisor,
    Actor::EndUser,
    Actor::Token,
];
const TARGETS: [Target; 6] =
    [Target::Own, Target::Peer, Target::OtherDesk, Target::Admin, Target::Operator, Target::OtherAccount];
const ROUTES: [Route; 28] = [
    Route::Patch,
    Route::UnlinkIdentity,
    Route::QueueJoin,
    Route::BulkAddToQueue,
    Route::CallSettings,
    Route::BulkCallSettings,
    Route::GrantRole,
    Route::Delete,
    Route::Password,
    Route::Unlock,
    Route::Security,
    Route::AccessRules,
    Route::EnrolmentLink,
    Route::Avatar,
    Route::SipCredentials,
    Route::ResetAuthenticator,
    Route::BulkDeactivate,
    Route::BulkActivate,
    Route::BulkGrantRole,
    Route::Deactivate,
    Route::BulkSchedule,
    Route::ConsoleDelete,
    Route::ConsolePassword,
    Route::ConsoleUnlock,
    Route::ConsoleAccessRules,
    Route::ConsoleDeactivate,
    // Last: ending one's own sessions signs the actor out.
    Route::EndSessions,
    Route::ConsoleEndSessions,
];

/// What the delegated roles hold (the desk lead's, the company supervisor's and the end user's).
const LEAD: [&str; 7] =
    ["users.view", "users.create", "users.edit", "users.delete", "users.passwords", "sessions.view", "sessions.manage"];

impl Route {
    fn spec(self) -> Spec {
        use OnSelf::*;
        let (permission, success, on_self, unseen) = match self {
            Route::Patch => ("users.edit", 200, Allowed, 404),
            Route::GrantRole => ("users.edit", 200, RefusedAfterReach(422), 404),
            Route::Delete => ("users.delete", 204, RefusedFirst(422), 404),
            Route::Password => ("users.passwords", 200, RefusedAfterReach(422), 404),
            Route::Unlock => ("users.passwords", 204, RefusedAfterReach(422), 404),
            Route::Security => ("users.edit", 200, RefusedAfterReach(422), 404),
            Route::AccessRules => ("users.edit", 200, RefusedFirst(422), 404),
            Route::EndSessions => ("sessions.manage", 200, Allowed, 404),
            Route::EnrolmentLink => ("users.edit", 202, RefusedFirst(403), 404),
            Route::Avatar => ("users.edit", 204, Allowed, 404),
            // Reading a SIP password lets one register as the user's phone: a change of sorts.
            Route::SipCredentials => ("users.sip_credentials", 200, Allowed, 404),
            // The targets use an authenticator (not yet set up): a reset mails an enrolment link.
            Route::ResetAuthenticator => ("users.edit", 200, RefusedFirst(403), 404),
            // Ids out of scope are unknown ids, as another account's are.
            Route::BulkDeactivate => ("users.edit", 200, RefusedFirst(422), 422),
            Route::BulkActivate => ("users.edit", 200, Allowed, 422),
            Route::BulkGrantRole => ("users.edit", 200, RefusedFirst(422), 422),
            // A period an hour from now (R18): saved, nobody is deactivated yet.
            Route::Deactivate => ("users.edit", 201, RefusedFirst(422), 404),
            Route::BulkSchedule => ("users.edit", 200, RefusedFirst(422), 422),
            Route::ConsoleDelete => ("users.delete", 200, RefusedFirst(422), 404),
            Route::ConsolePassword => ("users.passwords", 200, RefusedAfterReach(422), 404),
            Route::ConsoleUnlock => ("users.passwords", 200, RefusedAfterReach(422), 404),
            Route::ConsoleEndSessions => ("sessions.manage", 200, Allowed, 404),
            Route::ConsoleAccessRules => ("users.edit", 200, RefusedFirst(422), 404),
            Route::ConsoleDeactivate => ("users.edit", 200, RefusedFirst(422), 404),
            // A queue membership is part of the user (R16): joining oneself is allowed.
            Route::QueueJoin => ("users.edit", 201, Allowed, 404),
            Route::BulkAddToQueue => ("users.edit", 200, Allowed, 422),
            // Call settings (R38) are the user's; one's own are changed like any other field.
            Route::CallSettings => ("users.edit", 200, Allowed, 404),
            Route::BulkCallSettings => ("users.edit", 200, Allowed, 422),
            // Unlinking an identity at a provider (issue 15): the person's next single sign-on
            // matches by email again; one's own link is one's own to drop.
            Route::UnlinkIdentity => ("users.edit", 204, Allowed, 404),
        };
        Spec { permission, success, on_self, unseen }
    }

    fn console(self) -> bool {
        matches!(
            self,
            Route::ConsoleDelete
                | Route::ConsolePassword
                | Route::ConsoleUnlock
                | Route::ConsoleEndSessions
                | Route::ConsoleAccessRules
                | Route::ConsoleDeactivate
        )
    }
}

impl Actor {
    fn holds(self, permission: &str) -> bool {
        match self {
            Actor::Admin => true,
            Actor::DeskLead | Actor::CompanySupervisor | Actor::EndUser => LEAD.contains(&permission),
            Actor::Editor => permission == "users.edit",
            Actor::RoleManager => ["roles.view", "roles.manage"].contains(&permission),
            Actor::Token => ["users.view", "users.edit"].contains(&permission),
        }
    }

    /// D8: who the actor sees.
    fn sees(self, target: Target) -> bool {
        match (self, target) {
            (_, Target::OtherAccount) => false,
            (_, Target::Own) => true,
            (Actor::Admin | Actor::Editor | Actor::RoleManager | Actor::Token, _) => true,
            // The peer, the admin and the operator are at the lead's desk.
            (Actor::DeskLead, t) => t != Target::OtherDesk,
            // The peer is an end user of the supervisor's company.
            (Actor::CompanySupervisor, t) => t == Target::Peer,
            (Actor::EndUser, _) => false,
        }
    }

    /// D2: whom the actor may change. A token holds less than the admin who made it.
    fn reaches(self, target: Target) -> bool {
        match target {
            Target::Operator | Target::OtherAccount => false,
            Target::Admin => self == Actor::Admin,
            Target::Own => self != Actor::Token,
            Target::Peer | Target::OtherDesk => true,
        }
    }
}

/// The rules, once: permission (403), scope (404), one's own id (D3), reach (D2), what is given (D1).
fn expected(actor: Actor, target: Target, route: Route) -> u16 {
    let spec = route.spec();
    if !actor.holds(spec.permission) {
        return 403;
    }
    if !actor.sees(target) {
        return spec.unseen;
    }
    let own = target == Target::Own;
    if let (true, OnSelf::RefusedFirst(code)) = (own, spec.on_self) {
        return code;
    }
    if !actor.reaches(target) {
        return 403;
    }
    if let (true, OnSelf::RefusedAfterReach(code)) = (own, spec.on_self) {
        return code;
    }
    // The Agent role's calls.* permissions are held by the admin alone (D1).
    if matches!(route, Route::GrantRole | Route::BulkGrantRole) && actor != Actor::Admin {
        return 403;
    }
    spec.success
}

struct World {
    queue: i64,
    desk_a: i64,
    desk_b: i64,
    admin_role: i64,
    agent_role: i64,
    ids: HashMap<Actor, i64>,
    logins: HashMap<Actor, String>,
    tokens: HashMap<Actor, String>,
    consoles: HashMap<Actor, Console>,
    other_account_user: i64,
    /// An identity provider of the first account, for the links `UnlinkIdentity` removes.
    provider: i64,
    /// The link the current `UnlinkIdentity` case removes (made before the case's snapshot).
    link: i64,
    made: usize,
}

async fn every_route_actor_and_target_answers_as_the_rules_say(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let mut world = build(&app).await;
    let mut mismatches = Vec::new();
    let mut cases = 0;
    for route in ROUTES {
        for actor in ACTORS {
            if route.console() && actor == Actor::Token {
                continue; // a token has no console session
            }
            for target in TARGETS {
                cases += 1;
                let id = target_for(&app, &mut world, actor, target).await;
                if route == Route::UnlinkIdentity {
                    world.link = link_identity(&app, &world, id).await;
                }
                let before = snapshot(&app, &world, target, id).await;
                let got = attempt(&app, &world, actor, route, id).await;
                let want = expected(actor, target, route);
                if got.0 != want {
                    mismatches
                        .push(format!("{route:?} by {actor:?} on {target:?}: got {} want {want}: {}", got.0, got.1));
                    continue;
                }
                if !(200..300).contains(&want) {
                    let after = snapshot(&app, &world, target, id).await;
                    if after != before {
                        mismatches.push(format!(
                            "{route:?} by {actor:?} on {target:?}: refused ({want}) but changed:\n{before}\n{after}"
                        ));
                    }
                } else if target == Target::Own && matches!(route, Route::EndSessions | Route::ConsoleEndSessions) {
                    // The actor signed themself out: sign in again for the routes after.
                    sign_in_again(&app, &mut world, actor).await;
                }
            }
        }
    }
    assert!(cases > 800, "the matrix ran {cases} cases");
    assert!(
        mismatches.is_empty(),
        "{} of {cases} cases differ from the rules:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

async fn build(app: &TestApp) -> World {
    let desk_a = app.desk("Desk A").await;
    let desk_b = app.desk("Desk B").await;
    let admin_role = app.builtin_role("admin").await;
    let agent_role = app.builtin_role("agent").await;
    let lead_role = app.create_named("roles", json!({ "name": "Lead", "scope": "desks", "permissions": LEAD })).await;
    let company_role = app.create_named("roles", json!({ "name": "Company", "permissions": LEAD })).await;
    let editor_role = app.create_named("roles", json!({ "name": "Editor", "permissions": ["users.edit"] })).await;
    let roles_role =
        app.create_named("roles", json!({ "name": "Roles", "permissions": ["roles.view", "roles.manage"] })).await;
    let profiles: [(Actor, &str, Value); 6] = [
        (Actor::Admin, "m-admin", json!({ "roles": [admin_role], "desks": [desk_a] })),
        (Actor::DeskLead, "m-lead", json!({ "roles": [lead_role], "desks": [desk_a] })),
        (Actor::Editor, "m-editor", json!({ "roles": [editor_role] })),
        (Actor::RoleManager, "m-roles", json!({ "roles": [roles_role] })),
        (
            Actor::CompanySupervisor,
            "m-boss",
            json!({ "roles": [company_role], "company": "Acme", "is_end_user": true, "is_company_supervisor": true }),
        ),
        (Actor::EndUser, "m-client", json!({ "roles": [company_role], "company": "Acme", "is_end_user": true })),
    ];
    let queue = app.create_named("queues", json!({ "name": "Matrix" })).await;
    let mut world = World {
        queue,
        desk_a,
        desk_b,
        admin_role,
        agent_role,
        ids: HashMap::new(),
        logins: HashMap::new(),
        tokens: HashMap::new(),
        consoles: HashMap::new(),
        other_account_user: 0,
        provider: 0,
        link: 0,
        made: 0,
    };
    for (n, (actor, login, mut extra)) in profiles.into_iter().enumerate() {
        crate::helpers::merge(&mut extra, json!({ "extension": format!("90{n}"), "is_agent": true }));
        let id = app.user_with_password(login, PW, extra).await;
        world.ids.insert(actor, id);
        world.logins.insert(actor, login.to_string());
        sign_in_again(app, &mut world, actor).await;
    }
    // The admin's API token with a subset of their permissions.
    let body = json!({ "name": "pbx", "permissions": ["users.view", "users.edit"] });
    let token = app.create_token_as(&world.tokens[&Actor::Admin], body).await.json(201);
    world.tokens.insert(Actor::Token, token["token"].as_str().unwrap().to_string());
    world.ids.insert(Actor::Token, world.ids[&Actor::Admin]);
    // Another account, with one user.
    app.post("/api/v1/accounts", json!({ "slug": "elsewhere", "name": "Elsewhere" })).await.expect(201);
    let other = app.post("/api/v1/accounts/elsewhere/users", json!({ "login": "stranger", "password": PW })).await;
    world.other_account_user = id_of(&other.json(201));
    // A provider row of the first account (saving one through the API discovers its issuer,
    // which tests/api/sso.rs does against a real provider).
    let mut tx = app.open_transaction().await;
    tx.execute(
        "INSERT INTO identity_providers (account_id, label, label_key, issuer, client_id, client_secret, scopes, \
         created_at, updated_at) SELECT id, 'Matrix', 'matrix', 'https://idp.example.com', 'roster', 'sealed', \
         'openid email', 0, 0 FROM accounts WHERE slug = 'default'",
    )
    .await;
    tx.commit().await;
    let providers = app.get(&app.acct("identity-providers")).await.json(200);
    world.provider = providers[0]["id"].as_i64().expect("the matrix's provider");
    world
}

/// The target of one case: the actor, the fixed stranger, or a fresh user of the target's kind.
async fn target_for(app: &TestApp, world: &mut World, actor: Actor, target: Target) -> i64 {
    world.made += 1;
    let n = world.made;
    let base = json!({ "login": format!("t{n}"), "password": PW, "email": format!("t{n}@example.com"),
        "two_factor_method": "totp", "extension": format!("{}", 1000 + n), "is_agent": true });
    let extra = match target {
        Target::Own => return world.ids[&actor],
        Target::OtherAccount => return world.other_account_user,
        Target::Peer => json!({ "desks": [world.desk_a], "company": "Acme", "is_end_user": true }),
        Target::OtherDesk => json!({ "desks": [world.desk_b], "company": "Globex" }),
        Target::Admin => json!({ "desks": [world.desk_a], "roles": [world.admin_role] }),
        Target::Operator => json!({ "desks": [world.desk_a], "is_superuser": true }),
    };
    let mut body = base;
    crate::helpers::merge(&mut body, extra);
    id_of(&app.new_user(body).await)
}

fn user_path(app: &TestApp, world: &World, id: i64) -> String {
    match id == world.other_account_user {
        true => format!("/api/v1/accounts/elsewhere/users/{id}"),
        false => app.user_path(id),
    }
}

/// Everything a refused change could have touched, read by the platform operator.
async fn snapshot(app: &TestApp, world: &World, target: Target, id: i64) -> Value {
    let path = user_path(app, world, id);
    let mut user = app.get(&path).await.json(200);
    // Reading and signing in move these; they are not changes.
    if let Some(u) = user.as_object_mut() {
        u.remove("locked_until");
    }
    let rules = app.get(&format!("{path}/access-rules")).await.json(200);
    let identities = app.get(&format!("{path}/identities")).await.json(200);
    let calls = app.get(&format!("{path}/call-settings")).await.json(200);
    let sessions: Vec<Value> =
        list_items(&app.get(&format!("{path}/sessions")).await.json(200)).iter().map(|s| s["id"].clone()).collect();
    let outbox = match (target, user["email"].as_str()) {
        (Target::OtherAccount, _) | (_, None) => Value::Null,
        (_, Some(email)) => {
            let all = app.get(&format!("{}?limit=500", app.acct("outbox"))).await.json(200);
            json!(list_items(&all).iter().filter(|m| m.to_string().contains(email)).count())
        }
    };
    json!({ "user": user, "rules": rules, "identities": identities, "calls": calls, "sessions": sessions, "outbox": outbox })
}

/// One request; returns the status and a short body for the report.
async fn attempt(app: &TestApp, world: &World, actor: Actor, route: Route, id: i64) -> (u16, String) {
    let token = &world.tokens[&actor];
    let path = app.user_path(id);
    let etag = app.get(&user_path(app, world, id)).await.etag();
    if route.console() {
        let console = &world.consoles[&actor];
        let page = match route {
            Route::ConsoleDelete => console.post(&format!("/console/users/{id}/delete"), &[]).await,
            Route::ConsolePassword => {
                console.post(&format!("/console/users/{id}/password"), &[("password_mode", "generate")]).await
            }
            Route::ConsoleUnlock => console.post(&format!("/console/users/{id}/unlock"), &[]).await,
            Route::ConsoleEndSessions => console.post(&format!("/console/users/{id}/sessions/end-all"), &[]).await,
            Route::ConsoleAccessRules => {
                let version = etag.trim_matches('"').to_string();
                let form = [
                    ("version", version.as_str()),
                    ("mode", "extend"),
                    ("action", "deny"),
                    ("value", "198.51.100.77"),
                    ("description", ""),
                ];
                console.post(&format!("/console/users/{id}/access-rules"), &form).await
            }
            Route::ConsoleDeactivate => {
                // An hour from now, as a `datetime-local` field in UTC (the actors chose no zone).
                let soon = app.clock.now().plus_ms(3_600_000).to_rfc3339();
                let form = [("from", &soon[..16]), ("until", ""), ("reason", "matrix")];
                console.post(&format!("/console/users/{id}/deactivation"), &form).await
            }
            _ => unreachable!(),
        };
        return (page.status, page.body.chars().take(300).collect());
    }
    let request = match route {
        Route::Patch => {
            app.req_as(token, Method::PATCH, &path).header("if-match", &etag).json(&json!({ "first_name": "Changed" }))
        }
        Route::GrantRole => app
            .req_as(token, Method::PATCH, &path)
            .header("if-match", &etag)
            .json(&json!({ "roles": [world.agent_role] })),
        Route::Delete => app.req_as(token, Method::DELETE, &path),
        Route::Password => app
            .req_as(token, Method::PUT, &format!("{path}/password"))
            .json(&json!({ "password": "Saffron-Glacier-29&" })),
        Route::Unlock => app.req_as(token, Method::POST, &format!("{path}/unlock")).json(&json!({})),
        Route::Security => app
            .req_as(token, Method::PUT, &format!("{path}/security"))
            .header("if-match", &etag)
            .json(&json!({ "console_idle_minutes": 30 })),
        Route::AccessRules => app
            .req_as(token, Method::PUT, &format!("{path}/access-rules"))
            .header("if-match", &etag)
            .json(&json!({ "mode": "extend", "rules": [{ "action": "deny", "value": "198.51.100.77" }] })),
        Route::EndSessions => app.req_as(token, Method::DELETE, &format!("{path}/sessions")),
        Route::EnrolmentLink => {
            app.req_as(token, Method::POST, &format!("{path}/second-factor/enrolment-link")).json(&json!({}))
        }
        Route::Avatar => app
            .req_as(token, Method::PUT, &format!("{path}/avatar"))
            .header("content-type", "image/png")
            .body(png(2, 2, [1, 2, 3])),
        Route::SipCredentials => app.req_as(token, Method::GET, &format!("{path}/sip-credentials")),
        Route::ResetAuthenticator => {
            app.req_as(token, Method::POST, &format!("{path}/second-factor/reset-totp")).json(&json!({}))
        }
        Route::BulkDeactivate => app
            .req_as(token, Method::POST, &app.acct("users/bulk"))
            .json(&json!({ "action": "deactivate", "target": { "ids": [id] } })),
        Route::BulkActivate => app
            .req_as(token, Method::POST, &app.acct("users/bulk"))
            .json(&json!({ "action": "activate", "target": { "ids": [id] } })),
        Route::BulkGrantRole => app
            .req_as(token, Method::POST, &app.acct("users/bulk"))
            .json(&json!({ "action": "assign_roles", "target": { "ids": [id] }, "values": [world.agent_role] })),
        Route::Deactivate => app
            .req_as(token, Method::POST, &format!("{path}/deactivations"))
            .json(&json!({ "from": app.clock.now().plus_ms(3_600_000).to_rfc3339() })),
        Route::QueueJoin => app
            .req_as(token, Method::PUT, &app.acct(&format!("queues/{}/members/{id}", world.queue)))
            .json(&json!({ "position": 2 })),
        Route::BulkAddToQueue => app
            .req_as(token, Method::POST, &app.acct("users/bulk"))
            .json(&json!({ "action": "add_to_queues", "target": { "ids": [id] }, "values": [world.queue] })),
        Route::CallSettings => {
            let settings = format!("{path}/call-settings");
            let version = app.get(&format!("{}/call-settings", user_path(app, world, id))).await.etag();
            app.req_as(token, Method::PATCH, &settings).header("if-match", version).json(&json!({ "max_calls": 3 }))
        }
        Route::BulkCallSettings => app.req_as(token, Method::POST, &app.acct("users/bulk")).json(&json!({
            "action": "set_call_settings", "target": { "ids": [id] }, "call_settings": { "max_calls": 4 }
        })),
        Route::BulkSchedule => app.req_as(token, Method::POST, &app.acct("users/bulk")).json(&json!({
            "action": "schedule_deactivation", "target": { "ids": [id] },
            "from": app.clock.now().plus_ms(3_600_000).to_rfc3339()
        })),
        Route::UnlinkIdentity => app.req_as(token, Method::DELETE, &format!("{path}/identities/{}", world.link)),
        _ => unreachable!(),
    };
    let resp = app.send(request).await;
    (resp.status.as_u16(), resp.text().chars().take(300).collect())
}

/// Links a new identity at the matrix's provider to the user, as a first single sign-on would
/// (written directly: the sign-in itself is tests/api/sso.rs's); its id.
async fn link_identity(app: &TestApp, world: &World, id: i64) -> i64 {
    let mut tx = app.open_transaction().await;
    tx.execute(&format!(
        "INSERT INTO linked_identities (account_id, user_id, provider_id, issuer, subject, linked_at) \
         SELECT u.account_id, u.id, {provider}, 'https://idp.example.com/' || (SELECT COUNT(*) FROM linked_identities), \
         'sub-' || u.id, 0 FROM users u WHERE u.id = {id}",
        provider = world.provider
    ))
    .await;
    tx.commit().await;
    let links = app.get(&format!("{}/identities", user_path(app, world, id))).await.json(200);
    links.as_array().and_then(|l| l.last()).and_then(|l| l["id"].as_i64()).expect("the link just made")
}

/// Signs the actor in through the API and the console; the admin answers the second factor
/// that R27 asks of admins, the others have none.
async fn sign_in_again(app: &TestApp, world: &mut World, actor: Actor) {
    let login = world.logins[&actor].clone();
    let (token, console) = match actor {
        Actor::Admin => (
            app.sign_in_with_second_factor(&login, PW).await,
            Console::sign_in_with_second_factor(app, &login, PW).await,
        ),
        _ => (app.sign_in(&login, PW).await, Console::sign_in(app, &login, PW).await),
    };
    world.tokens.insert(actor, token);
    world.consoles.insert(actor, console);
}

/// What the roles routes are tried with: a role made, and a role its holders' reach decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoleChange {
    /// A role that reaches only its holder, with `users.view`.
    MakeOwn,
    /// A role that reaches the account, with `roles.view`.
    MakeWide,
    /// Emptying a role (with `roles.view`) that an admin holds.
    EditAdminsRole,
    /// Deleting a role (with `roles.view`) that a user holding nothing else holds.
    DeletePeersRole,
}

/// D1 and D2 for roles, once: `roles.manage`; what a role grants is given only by who could
/// give it; changing it changes its holders, who must be within reach.
fn expected_for_role(actor: Actor, change: RoleChange) -> u16 {
    if !actor.holds("roles.manage") {
        return 403;
    }
    let account_wide =
        |p: &str| actor.holds(p) && !matches!(actor, Actor::DeskLead | Actor::CompanySupervisor | Actor::EndUser);
    match change {
        RoleChange::MakeOwn if actor.holds("users.view") => 201,
        RoleChange::MakeWide if account_wide("roles.view") => 201,
        RoleChange::EditAdminsRole if actor == Actor::Admin => 200,
        RoleChange::DeletePeersRole if account_wide("roles.view") => 204,
        _ => 403,
    }
}

async fn role_changes_answer_as_the_rules_say(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let mut world = build(&app).await;
    let mut mismatches = Vec::new();
    for change in [RoleChange::MakeOwn, RoleChange::MakeWide, RoleChange::EditAdminsRole, RoleChange::DeletePeersRole] {
        for actor in ACTORS {
            world.made += 1;
            let n = world.made;
            let token = &world.tokens[&actor];
            let role =
                app.create_named("roles", json!({ "name": format!("r{n}"), "permissions": ["roles.view"] })).await;
            let holder = match change {
                RoleChange::EditAdminsRole => json!({ "roles": [role, world.admin_role] }),
                _ => json!({ "roles": [role] }),
            };
            app.user_with_password(&format!("h{n}"), PW, holder).await;
            let path = app.acct(&format!("roles/{role}"));
            let before = app.get(&path).await.json(200);
            let etag = app.get(&path).await.etag();
            let request = match change {
                RoleChange::MakeOwn => app
                    .req_as(token, Method::POST, &app.acct("roles"))
                    .json(&json!({ "name": format!("own{n}"), "scope": "self", "permissions": ["users.view"] })),
                RoleChange::MakeWide => app
                    .req_as(token, Method::POST, &app.acct("roles"))
                    .json(&json!({ "name": format!("wide{n}"), "scope": "account", "permissions": ["roles.view"] })),
                RoleChange::EditAdminsRole => app
                    .req_as(token, Method::PATCH, &path)
                    .header("if-match", &etag)
                    .json(&json!({ "permissions": [] })),
                RoleChange::DeletePeersRole => app.req_as(token, Method::DELETE, &path),
            };
            let got = app.send(request).await;
            let want = expected_for_role(actor, change);
            if got.status.as_u16() != want {
                mismatches.push(format!("{change:?} by {actor:?}: got {} want {want}: {}", got.status, got.text()));
            } else if !(200..300).contains(&want) && app.get(&path).await.json(200) != before {
                mismatches.push(format!("{change:?} by {actor:?}: refused but the role changed"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn the_rules_table_reads_as_the_design_says() {
    // A few rows written out, so that a change to `expected` that breaks the design shows here too.
    assert_eq!(expected(Actor::Editor, Target::Admin, Route::Patch), 403, "D2: admins only by admins");
    assert_eq!(expected(Actor::DeskLead, Target::OtherDesk, Route::Patch), 404, "D8: out of scope is not found");
    assert_eq!(expected(Actor::Admin, Target::Own, Route::Password), 422, "D3: own password under My Account");
    assert_eq!(expected(Actor::Admin, Target::Operator, Route::BulkDeactivate), 403, "D2: operators only by operators");
    assert_eq!(expected(Actor::DeskLead, Target::Peer, Route::GrantRole), 403, "D1: no permission one lacks");
    assert_eq!(expected(Actor::Token, Target::Own, Route::Patch), 403, "a token holds less than its maker");
    assert_eq!(expected(Actor::EndUser, Target::Peer, Route::Patch), 404, "an end user sees only themself");
    assert_eq!(expected(Actor::Admin, Target::Peer, Route::Delete), 204);
    assert_eq!(expected(Actor::Editor, Target::Peer, Route::SipCredentials), 403, "a permission of its own");
    assert_eq!(
        expected(Actor::DeskLead, Target::OtherDesk, Route::BulkActivate),
        422,
        "unknown ids, as another account's"
    );
}
