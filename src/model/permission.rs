//! The permission catalog. Roles, groups and users carry these strings; every route
//! declares one of them (see `auth::Authorized`).

use serde::Serialize;

macro_rules! permissions {
    ($( $variant:ident = $name:literal : $description:literal ),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission { $($variant),* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name),* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Permission::$variant => $description),* }
            }

            pub fn parse(name: &str) -> Option<Permission> {
                match name { $($name => Some(Permission::$variant),)* _ => None }
            }
        }

        /// Zero-sized markers so that a handler's signature names the permission it needs:
        /// `Authorized<perm::UsersEdit>`.
        pub mod perm {
            $(
                pub struct $variant;
                impl super::RequiredPermission for $variant {
                    const PERMISSION: super::Permission = super::Permission::$variant;
                }
            )*
        }
    };
}

pub trait RequiredPermission: Send + Sync + 'static {
    const PERMISSION: Permission;
}

permissions! {
    UsersView = "users.view": "See users, their roles, desks and skills",
    UsersCreate = "users.create": "Create and invite users, import users",
    UsersEdit = "users.edit": "Edit users, enable or disable them, assign roles, desks, skills and groups",
    UsersDelete = "users.delete": "Delete users",
    UsersPasswords = "users.passwords": "Change or reset other users' passwords",
    UsersSipCredentials = "users.sip_credentials": "Read users' SIP passwords, to provision their phones",
    RolesView = "roles.view": "See roles and their permissions",
    RolesManage = "roles.manage": "Create, edit and delete custom roles",
    GroupsView = "groups.view": "See groups",
    GroupsManage = "groups.manage": "Create, edit and delete groups",
    DesksView = "desks.view": "See desks",
    DesksManage = "desks.manage": "Create, edit and delete desks",
    SkillsView = "skills.view": "See skills",
    SkillsManage = "skills.manage": "Create, edit and delete skills",
    QueuesView = "queues.view": "See call queues and who is a member of them",
    QueuesManage = "queues.manage": "Create, edit and delete call queues (members are changed with users.edit)",
    TimeGroupsView = "time_groups.view": "See time groups (weekly schedules)",
    TimeGroupsManage = "time_groups.manage": "Create, edit and delete time groups",
    DialRulesView = "dial_rules.view": "See dial rule sets (allowed and denied destinations)",
    DialRulesManage = "dial_rules.manage": "Create, edit and delete dial rule sets",
    MusicOnHoldView = "music_on_hold.view": "See music-on-hold classes",
    MusicOnHoldManage = "music_on_hold.manage": "Create, edit and delete music-on-hold classes",
    InterceptGroupsView = "intercept_groups.view": "See intercept (call pickup) groups",
    InterceptGroupsManage = "intercept_groups.manage": "Create, edit and delete intercept groups",
    ActivityView = "activity.view": "See the activity log",
    SessionsView = "sessions.view": "See who is signed in",
    SessionsManage = "sessions.manage": "End other users' sessions",
    TokensView = "tokens.view": "See the account's API tokens",
    TokensManage = "tokens.manage": "Create and revoke API tokens for PBX components",
    SettingsView = "settings.view": "See the account's settings",
    SettingsManage = "settings.manage": "Change the account's settings",
    BillingView = "billing.view": "See seats and financial information",
    BillingManage = "billing.manage": "Manage seats and financial information",
    CallsMake = "calls.make": "Make calls",
    CallsReceive = "calls.receive": "Receive calls",
    DirectoryRead = "directory.read": "API tokens only: look users up as the PBX directory (digest hashes, call settings)",
    AccountsManage = "accounts.manage": "Platform: create and manage accounts (platform operators only)",
}

impl Permission {
    /// Platform-level permissions are never granted through an account's roles.
    pub fn is_platform(self) -> bool {
        matches!(self, Permission::AccountsManage)
    }

    pub fn account_permissions() -> impl Iterator<Item = Permission> {
        Permission::ALL.iter().copied().filter(|p| !p.is_platform())
    }

    /// Held by API tokens only, never by people (roles, groups, direct grants): the PBX
    /// directory answers machines, and hands out every phone's digest in the account. No
    /// built-in role holds it, so D1 alone would let nobody give it; the account's admins give
    /// it instead (who reach every user but platform operators, D2, and so may read every SIP
    /// password the digests are made from), and a token keeps it while its maker is one.
    pub fn tokens_only(self) -> bool {
        matches!(self, Permission::DirectoryRead)
    }

    /// What roles, groups and users can hold: the account's permissions but the tokens-only.
    pub fn people_permissions() -> impl Iterator<Item = Permission> {
        Permission::account_permissions().filter(|p| !p.tokens_only())
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The built-in roles every account starts with (R12). Their permissions are fixed;
/// their descriptions are shown on hover in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    Admin,
    Supervisor,
    Agent,
    Financial,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 4] =
        [BuiltinRole::Admin, BuiltinRole::Supervisor, BuiltinRole::Agent, BuiltinRole::Financial];

    pub fn key(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "admin",
            BuiltinRole::Supervisor => "supervisor",
            BuiltinRole::Agent => "agent",
            BuiltinRole::Financial => "financial",
        }
    }

    pub fn parse_key(key: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.key() == key)
    }

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "Admin",
            BuiltinRole::Supervisor => "Supervisor",
            BuiltinRole::Agent => "Agent",
            BuiltinRole::Financial => "Financial",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            BuiltinRole::Admin => "Manages all aspects of the account",
            BuiltinRole::Supervisor => "Monitors users and activity without making changes",
            BuiltinRole::Agent => "Makes and receives calls (caller)",
            BuiltinRole::Financial => "Manages seats and financial information",
        }
    }

    /// Whom the role's holders reach (D8): a supervisor watches their desks, an agent only
    /// themself.
    pub fn scope(self) -> super::Scope {
        match self {
            BuiltinRole::Admin | BuiltinRole::Financial => super::Scope::Account,
            BuiltinRole::Supervisor => super::Scope::Desks,
            BuiltinRole::Agent => super::Scope::Own,
        }
    }

    pub fn permissions(self) -> Vec<Permission> {
        use Permission::*;
        match self {
            BuiltinRole::Admin => Permission::people_permissions().collect(),
            BuiltinRole::Supervisor => vec![
                UsersView,
                RolesView,
                GroupsView,
                DesksView,
                SkillsView,
                QueuesView,
                TimeGroupsView,
                DialRulesView,
                MusicOnHoldView,
                InterceptGroupsView,
                ActivityView,
                SessionsView,
                CallsMake,
                CallsReceive,
            ],
            BuiltinRole::Agent => vec![CallsMake, CallsReceive],
            BuiltinRole::Financial => vec![BillingView, BillingManage],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_through_its_name() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Permission::parse("users.fly"), None);
    }

    #[test]
    fn admin_has_every_account_permission_but_no_platform_one() {
        let admin = BuiltinRole::Admin.permissions();
        assert!(admin.contains(&Permission::UsersDelete));
        assert!(!admin.contains(&Permission::AccountsManage));
        assert!(!admin.contains(&Permission::DirectoryRead), "no built-in role holds the directory");
        assert_eq!(admin.len(), Permission::people_permissions().count());
    }

    #[test]
    fn supervisor_cannot_change_anything() {
        let sup = BuiltinRole::Supervisor.permissions();
        assert!(sup.contains(&Permission::UsersView));
        assert!(!sup.iter().any(|p| p.as_str().ends_with(".edit") || p.as_str().ends_with(".manage")));
    }
}
