//! The identities at providers linked to a user: shown on the user, unlinked by whoever may
//! edit them (the person's next sign-in through that provider matches by email again).

use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Principal;
use crate::access::principal;
use crate::activity::{self, Changes, Target};
use crate::clock::to_rfc3339;
use crate::error::{Error, Result};
use crate::ids::{IdentityProviderId, LinkedIdentityId, UserId};
use crate::state::AppState;
use crate::store::sso::{self as store, LinkRecord};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkedIdentityView {
    pub id: LinkedIdentityId,
    pub provider_id: IdentityProviderId,
    /// The provider's label.
    pub provider: String,
    pub issuer: String,
    /// Who the person is at the provider (`sub`).
    pub subject: String,
    /// The email the provider gave when the link was made.
    pub email: Option<String>,
    pub linked_at: String,
    pub last_used_at: Option<String>,
}

impl From<LinkRecord> for LinkedIdentityView {
    fn from(l: LinkRecord) -> Self {
        LinkedIdentityView {
            id: l.id,
            provider_id: l.provider_id,
            provider: l.provider_label,
            issuer: l.issuer,
            subject: l.subject,
            email: l.email,
            linked_at: to_rfc3339(l.linked_at),
            last_used_at: l.last_used_at.map(to_rfc3339),
        }
    }
}

/// The user's linked identities, oldest first.
pub async fn list(state: &AppState, principal: &Principal, user: UserId) -> Result<Vec<LinkedIdentityView>> {
    let mut conn = state.store.read().await?;
    principal::seen_user(&mut conn, principal, user).await?;
    let links = store::links_of_user(&mut conn, principal.account(), user).await?;
    Ok(links.into_iter().map(Into::into).collect())
}

/// Removes a link (`auth.sso_unlinked`).
pub async fn unlink(state: &AppState, principal: &Principal, user: UserId, id: LinkedIdentityId) -> Result<()> {
    let mut tx = state.store.begin().await?;
    let conn = tx.conn();
    let target = principal::reachable_user(conn, principal, user).await?;
    let removed =
        store::delete_link(conn, principal.account(), user, id).await?.ok_or(Error::NotFound("linked identity"))?;
    let mut changes = Changes::new();
    changes
        .set("provider", &removed.provider_label)
        .set("provider_id", removed.provider_id.0)
        .set("subject", &removed.subject);
    if let Some(email) = &removed.email {
        changes.set("email", email);
    }
    let login = target.record.login.clone();
    activity::record(conn, &principal.actor, "auth.sso_unlinked", Target::user(user, &login), &changes).await?;
    tx.commit().await?;
    Ok(())
}
