//! D8: which users a role's holders reach. A role grants its permissions within its scope;
//! the user flags of R40 narrow it further (an end user reaches only themself, a company
//! supervisor only their company's end users).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::Invalid;

/// Ordered from narrowest to widest, so that `max` combines the roles that grant a permission
/// and `min` applies a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Only the holder.
    #[serde(rename = "self")]
    Own,
    /// End users of the holder's company (R40), and the holder.
    Company,
    /// Users who share one of the holder's desks, and the holder.
    Desks,
    /// Every user of the account.
    Account,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Account, Scope::Desks, Scope::Company, Scope::Own];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "self",
            Scope::Company => "company",
            Scope::Desks => "desks",
            Scope::Account => "account",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scope::Own => "Only themself",
            Scope::Company => "End users of their company",
            Scope::Desks => "Users of their desks",
            Scope::Account => "The whole account",
        }
    }

    pub fn parse(text: &str) -> Result<Scope, Invalid> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| {
            Invalid::new("unknown_scope", format!("{text:?} is not a scope: use account, desks, company or self"))
        })
    }

    /// The widest scope a user with these R40 flags may hold, whatever their roles say.
    pub fn cap_for(is_end_user: bool, is_company_supervisor: bool) -> Scope {
        match (is_company_supervisor, is_end_user) {
            (true, _) => Scope::Company,
            (false, true) => Scope::Own,
            (false, false) => Scope::Account,
        }
    }
}

super::stored_as_text!(Scope, "role scope");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_self_is_spelled_self() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()).unwrap(), s);
        }
        assert_eq!(serde_json::to_string(&Scope::Own).unwrap(), "\"self\"");
        assert!(Scope::parse("everyone").is_err());
    }

    #[test]
    fn the_widest_grant_wins_and_flags_cap_it() {
        assert_eq!(Scope::Desks.max(Scope::Account), Scope::Account);
        assert_eq!(Scope::Account.min(Scope::cap_for(false, true)), Scope::Company);
        assert_eq!(Scope::Desks.min(Scope::cap_for(true, false)), Scope::Own);
        assert_eq!(Scope::Desks.min(Scope::cap_for(false, false)), Scope::Desks);
    }
}
