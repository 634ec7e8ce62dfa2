//! Who is behind a request: the signed-in user (or API token) with what they may do, and
//! where the request comes from.

use std::collections::BTreeSet;

use crate::ids::{AccountId, SessionId, UserId};
use crate::model::account::AccountRecord;
use crate::model::activity::Actor;
use crate::model::permission::Permission;

/// The signed-in user behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The session the request came with (0 for an API token).
    pub session: SessionId,
    /// A session's kind (`console`, `api`, `phone`), or an API token.
    pub session_kind: crate::model::CallerKind,
    /// Set when the request came with an API token rather than a session.
    pub api_token: Option<i64>,
    /// When the session ends unless used again, or at the latest; `None` for an API token that
    /// never expires.
    pub session_expires_at: Option<crate::clock::Timestamp>,
    pub user: UserId,
    pub login: String,
    pub display_name: String,
    pub account: AccountId,
    pub account_slug: String,
    /// The caller's own account as read with the session, so that routes in it need no second read.
    pub home_account: std::sync::Arc<AccountRecord>,
    /// R11 "superuser": manages every account.
    pub platform_operator: bool,
    /// An API token made by a platform operator: its directory lookups reach every account's
    /// realm (one SIP proxy for the platform), not only its own account's.
    pub operator_token: bool,
    /// Shared, so that a cached caller is cheap to hand to each request.
    pub roles: std::sync::Arc<[String]>,
    pub permissions: std::sync::Arc<BTreeSet<Permission>>,
    /// The scope each permission comes with (D8), capped by the R40 flags.
    pub scopes: std::sync::Arc<std::collections::BTreeMap<Permission, crate::model::Scope>>,
    /// Holds the built-in Admin role (an API token: its creator does and it has every account permission).
    pub admin: bool,
    /// The user's company (R40), which a company scope covers.
    pub company: Option<std::sync::Arc<str>>,
    /// Set when the request came with the session cookie: the CSRF token its forms carry.
    pub csrf: Option<String>,
    /// How the console shows this caller times: their own choice, else their account's (R7).
    pub time_display: crate::model::settings::TimeDisplay,
    /// The access rules (R35) in force for this caller; `None` when there are none.
    pub access_policy: Option<std::sync::Arc<crate::model::access_policy::Policy>>,
}

/// Where a request comes from, as recorded in the activity log and sessions.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

impl Caller {
    pub fn actor(&self, client: &ClientInfo) -> Actor {
        Actor {
            account: self.account,
            user: Some(self.user),
            label: match self.api_token {
                Some(_) => self.display_name.clone(),
                None => self.login.clone(),
            },
            address: client.address.clone(),
        }
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.platform_operator || (!permission.is_platform() && self.permissions.contains(&permission))
    }

    /// The scope the caller holds `permission` with (D8); a platform operator's is every account.
    pub fn scope_for(&self, permission: Permission) -> crate::model::Scope {
        match self.platform_operator {
            true => crate::model::Scope::Account,
            false => self.scopes.get(&permission).copied().unwrap_or(crate::model::Scope::Own),
        }
    }

    /// Whether a token made by this caller may carry `permission`: one they hold (D1), or a
    /// tokens-only one, which admins give (`Permission::tokens_only`).
    pub fn may_give_token(&self, permission: Permission) -> bool {
        match (permission.is_platform(), permission.tokens_only()) {
            (true, _) => false,
            (false, true) => self.admin || self.platform_operator,
            (false, false) => self.has(permission),
        }
    }

    /// Whether the caller may act in `account` at all.
    pub fn may_enter(&self, account: AccountId) -> bool {
        self.platform_operator || self.account == account
    }
}
