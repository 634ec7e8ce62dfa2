//! What a principal reaches among the users it is shown (D2, D8), so that pages offer only the
//! actions the services would allow, and how many users a principal sees. The services decide
//! every change all the same; this only decides what is offered.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::access::Principal;
use crate::access::principal::{self, Beyond};
use crate::error::Result;
use crate::ids::UserId;
use crate::state::AppState;

use crate::store::grants::Seen;
use crate::store::reach as store;
use crate::store::user_index::{AccountCatalog, Listed};
use crate::store::users::Reading;
use crate::users::service::{self, UserView};

/// For some users: who is out of the principal's reach (D2), and whom each scope covers (D8).
#[derive(Debug, Default)]
pub struct Reach {
    asked: BTreeSet<UserId>,
    beyond: BTreeSet<UserId>,
    seens: Vec<(Seen, BTreeSet<UserId>)>,
}

impl Reach {
    /// D2 alone: `id` holds a permission the principal lacks, or is an admin or a platform
    /// operator the principal is not.
    pub fn out_of_reach(&self, id: UserId) -> bool {
        self.beyond.contains(&id)
    }

    /// Whether `principal` (one of those `of_users` was given) sees `id` (D8).
    pub fn covers(&self, principal: &Principal, id: UserId) -> bool {
        if !self.asked.contains(&id) {
            return false;
        }
        match principal.seen() {
            Seen::All => true,
            seen => self.seens.iter().any(|(s, ids)| *s == seen && ids.contains(&id)),
        }
    }

    /// Whether `principal` may change `id`: sees them (D8) and reaches them (D2).
    pub fn may_change(&self, principal: &Principal, id: UserId) -> bool {
        !self.out_of_reach(id) && self.covers(principal, id)
    }
}

/// What the principals (one caller, acting with different permissions and so perhaps with
/// different scopes) reach among `ids`: two statements, whatever the number of users.
pub async fn of_users(state: &AppState, principals: &[Principal], ids: &[UserId]) -> Result<Reach> {
    let Some(first) = principals.first() else { return Ok(Reach::default()) };
    if ids.is_empty() {
        return Ok(Reach::default());
    }
    let seens = seens_of(principals);
    let mut conn = state.store.read().await?;
    // The reach of mass actions, asked of each user of the page: on the safe side, so the page
    // may offer a little less than a single change would allow, never more.
    let beyond = principal::beyond_reach_sql(&mut conn, first, Reading::Page).await?;
    let rows = store::of_users(&mut conn, first.account(), ids, &beyond, &seens).await?;
    let mut reach = Reach { seens: seens.into_iter().map(|s| (s, BTreeSet::new())).collect(), ..Default::default() };
    for row in rows {
        reach.asked.insert(row.id);
        if row.beyond {
            reach.beyond.insert(row.id);
        }
        for (i, covered) in row.covered.into_iter().enumerate() {
            if covered {
                reach.seens[i].1.insert(row.id);
            }
        }
    }
    Ok(reach)
}

/// The same answer as `of_users` for the users of a page just listed (`service::list_kept`
/// brought the account's index up to date and took the catalog as of then): from memory, with
/// the page's own records, so it costs no statement.
pub fn of_page(state: &AppState, principals: &[Principal], users: &[Arc<Listed>], catalog: &AccountCatalog) -> Reach {
    let Some(first) = principals.first() else { return Reach::default() };
    if users.is_empty() {
        return Reach::default();
    }
    let seens = seens_of(principals);
    let index = state.store.user_index();
    let ids: Vec<UserId> = users.iter().map(|u| u.record.id).collect();
    let covered = index.covers(first.account(), &seens, &ids);
    let beyond = Beyond::of(first, &catalog.roles);
    let mut reach = Reach { seens: seens.into_iter().map(|s| (s, BTreeSet::new())).collect(), ..Default::default() };
    for (i, user) in users.iter().enumerate() {
        let id = user.record.id;
        reach.asked.insert(id);
        if beyond.holds(&user.record, &user.assignments, catalog) {
            reach.beyond.insert(id);
        }
        for (k, (_, ids)) in reach.seens.iter_mut().enumerate() {
            if covered[k][i] {
                ids.insert(id);
            }
        }
    }
    reach
}

/// The scopes other than the whole account that `principals` see with, each once.
fn seens_of(principals: &[Principal]) -> Vec<Seen> {
    let mut seens: Vec<Seen> = Vec::new();
    for p in principals {
        let seen = p.seen();
        if seen != Seen::All && !seens.contains(&seen) {
            seens.push(seen);
        }
    }
    seens
}

/// One user the principal may change (D2, D8), for the pages that change them: others are
/// refused as the change itself would be (404 unseen, 403 out of reach).
pub async fn changeable(state: &AppState, principal: &Principal, id: UserId) -> Result<UserView> {
    let mut conn = state.store.read().await?;
    principal::reachable_user(&mut conn, principal, id).await?;
    drop(conn);
    service::get(state, principal, id).await
}
