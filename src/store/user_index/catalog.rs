//! The account's catalog as the console's Users page needs it on every request: the names its
//! pickers offer, what each role grants and which roles each group carries (what D2's reach is
//! decided from). Kept with the account's users and dropped, like their records, by any
//! `user_changes` row for everyone, which every change to roles, groups, desks, skills, role
//! permissions and group roles writes (migrations 0008 and 0009).

use std::collections::HashMap;

use sqlx::Row;

use crate::ids::AccountId;
use crate::store::Conn;
use crate::store::grants::{self, RoleGrant};
use crate::store::named::{self, NamedRecord};

pub struct AccountCatalog {
    /// Roles, groups, desks, skills and queues (`Link::LISTED` order), each in name order;
    /// members not counted.
    pub names: [Vec<NamedRecord>; 5],
    /// What each role grants, in id order.
    pub roles: Vec<RoleGrant>,
    group_roles: HashMap<i64, Vec<i64>>,
}

impl AccountCatalog {
    pub(super) async fn read(conn: &mut Conn, account: AccountId) -> Result<AccountCatalog, sqlx::Error> {
        let names = named::list_all_uncounted(conn, account).await?;
        let roles = grants::all_roles(conn, account).await?;
        let mut group_roles: HashMap<i64, Vec<i64>> = HashMap::new();
        let rows = sqlx::query(
            "SELECT gr.group_id, gr.role_id FROM group_roles gr JOIN groups g ON g.id = gr.group_id \
             WHERE g.account_id = $1",
        )
        .bind(account.0)
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            group_roles.entry(row.try_get(0)?).or_default().push(row.try_get(1)?);
        }
        Ok(AccountCatalog { names, roles, group_roles })
    }

    /// The roles group `group` carries.
    pub fn roles_of_group(&self, group: i64) -> &[i64] {
        self.group_roles.get(&group).map(Vec::as_slice).unwrap_or_default()
    }
}
