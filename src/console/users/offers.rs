//! What the console offers the viewer to do to each user it shows (D2, D3, D8): actions on users
//! out of reach, or outside the scope an action's permission comes with, are not offered, and
//! neither are those on oneself that only My Account makes (password, email, second factor).
//! The services refuse all the same; this only keeps the pages from offering what they refuse.

use crate::access::{Permission, Principal};
use crate::console::extract::ConsoleUser;
use crate::error::Result;
use crate::ids::UserId;
use crate::model::AccountRecord;
use crate::state::AppState;
use crate::users::reach::{self, Reach};
use crate::users::service::KeptPage;

/// The permissions the per-user actions need.
const ACTING: [Permission; 6] = [
    Permission::UsersEdit,
    Permission::UsersPasswords,
    Permission::UsersDelete,
    Permission::SessionsView,
    Permission::SessionsManage,
    Permission::ActivityView,
];

/// The permissions that change a user (the rest only read).
const CHANGING: [Permission; 4] =
    [Permission::UsersEdit, Permission::UsersPasswords, Permission::UsersDelete, Permission::SessionsManage];

/// The viewer, acting with each permission they hold, and what that reaches among some users.
pub(in crate::console) struct Acting {
    me: UserId,
    principals: Vec<(Permission, Principal)>,
    reach: Reach,
}

/// What is offered for one user.
#[derive(Debug, Default, Clone, Copy)]
pub(in crate::console) struct Offers {
    pub myself: bool,
    /// Out of reach (D2) of a viewer who could otherwise change users: shown read-only.
    pub out_of_reach: bool,
    pub edit: bool,
    pub password: bool,
    pub delete: bool,
    pub two_factor: bool,
    pub security: bool,
    pub access_rules: bool,
    pub avatar: bool,
    pub sessions: bool,
    pub end_sessions: bool,
    pub unlock: bool,
    pub activity: bool,
}

impl Offers {
    /// The key of a row showing these offers, `selectable` or not (all a row depends on besides
    /// the user): two rows with the same key show the same actions.
    pub fn row_key(&self, selectable: bool) -> u32 {
        // Named one by one so that a field added without a bit does not compile.
        let Offers {
            myself,
            out_of_reach,
            edit,
            password,
            delete,
            two_factor,
            security,
            access_rules,
            avatar,
            sessions,
            end_sessions,
            unlock,
            activity,
        } = *self;
        [
            myself,
            out_of_reach,
            edit,
            password,
            delete,
            two_factor,
            security,
            access_rules,
            avatar,
            sessions,
            end_sessions,
            unlock,
            activity,
        ]
        .into_iter()
        .chain([selectable])
        .enumerate()
        .fold(0, |key, (bit, on)| key | (u32::from(on) << bit))
    }
}

impl Acting {
    /// One query for all of `ids` (a page of the users table, or one user).
    pub async fn load(state: &AppState, user: &ConsoleUser, account: &AccountRecord, ids: &[UserId]) -> Result<Acting> {
        let principals = Self::principals(user, account);
        let only: Vec<Principal> = principals.iter().map(|(_, p)| p.clone()).collect();
        let reach = reach::of_users(state, &only, ids).await?;
        Ok(Acting { me: user.caller.user, principals, reach })
    }

    /// The same for the users of a page of the users table just listed, from memory.
    pub fn for_page(state: &AppState, user: &ConsoleUser, account: &AccountRecord, page: &KeptPage) -> Acting {
        let principals = Self::principals(user, account);
        let only: Vec<Principal> = principals.iter().map(|(_, p)| p.clone()).collect();
        let reach = reach::of_page(state, &only, &page.users, &page.catalog);
        Acting { me: user.caller.user, principals, reach }
    }

    fn principals(user: &ConsoleUser, account: &AccountRecord) -> Vec<(Permission, Principal)> {
        ACTING.into_iter().filter(|p| user.can(*p)).map(|p| (p, user.principal(account, p))).collect()
    }

    fn principal(&self, permission: Permission) -> Option<&Principal> {
        self.principals.iter().find(|(p, _)| *p == permission).map(|(_, p)| p)
    }

    fn may_change(&self, permission: Permission, id: UserId) -> bool {
        self.principal(permission).is_some_and(|p| self.reach.may_change(p, id))
    }

    fn sees(&self, permission: Permission, id: UserId) -> bool {
        self.principal(permission).is_some_and(|p| self.reach.covers(p, id))
    }

    /// What the viewer is offered for user `id` (`locked`: locked out after failed sign-ins).
    pub fn offers(&self, id: UserId, locked: bool) -> Offers {
        let myself = id == self.me;
        let changes_users = CHANGING.iter().any(|p| self.principal(*p).is_some());
        let edit = self.may_change(Permission::UsersEdit, id);
        let unlock = self.may_change(Permission::UsersPasswords, id);
        Offers {
            myself,
            out_of_reach: changes_users && self.reach.out_of_reach(id),
            edit,
            // D3: one's own password, second factor and access rules are not changed here.
            password: !myself && self.may_change(Permission::UsersPasswords, id),
            delete: !myself && self.may_change(Permission::UsersDelete, id),
            two_factor: !myself && edit,
            security: !myself && edit,
            access_rules: !myself && edit,
            avatar: edit,
            sessions: self.sees(Permission::SessionsView, id) || (locked && unlock),
            end_sessions: self.may_change(Permission::SessionsManage, id),
            unlock: !myself && unlock,
            activity: self.sees(Permission::ActivityView, id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Offers;

    #[test]
    fn each_offer_and_selectable_have_a_bit_of_their_own() {
        let setters: [fn(&mut Offers); 13] = [
            |o| o.myself = true,
            |o| o.out_of_reach = true,
            |o| o.edit = true,
            |o| o.password = true,
            |o| o.delete = true,
            |o| o.two_factor = true,
            |o| o.security = true,
            |o| o.access_rules = true,
            |o| o.avatar = true,
            |o| o.sessions = true,
            |o| o.end_sessions = true,
            |o| o.unlock = true,
            |o| o.activity = true,
        ];
        let mut all = 0;
        for set in setters {
            let mut offers = Offers::default();
            set(&mut offers);
            let key = offers.row_key(false);
            assert_eq!(key.count_ones(), 1, "{offers:?}");
            assert_eq!(all & key, 0, "{offers:?} shares a bit");
            all |= key;
        }
        assert_eq!(Offers::default().row_key(false), 0);
        let selectable = Offers::default().row_key(true);
        assert_eq!((selectable.count_ones(), all & selectable), (1, 0), "selectable has a bit of its own");
    }
}
