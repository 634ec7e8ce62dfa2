//! Which users a list or a mass action is about (R21, R37). Parsing the query string is
//! `users::filter`'s.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{DeskId, GroupId, QueueId, RoleId, SkillId, UserId};
use crate::model::user::UserStatus;

/// Filters combine with AND; the values inside one filter combine with OR.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    #[serde(default)]
    pub status: Vec<UserStatus>,
    #[serde(default)]
    pub role: Vec<RoleId>,
    #[serde(default)]
    pub desk: Vec<DeskId>,
    #[serde(default)]
    pub group: Vec<GroupId>,
    #[serde(default)]
    pub skill: Vec<SkillId>,
    /// Members of any of these queues (R16).
    #[serde(default)]
    pub queue: Vec<QueueId>,
    /// Only agents (`true`) or only those who are not (`false`) (R11).
    #[serde(default)]
    pub agent: Option<bool>,
    /// Only supervisors (`true`) or only those who are not (`false`) (R11).
    #[serde(default)]
    pub supervisor: Option<bool>,
    /// Matches login, names, email, extension, external id and company (case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
    /// Only users whose sign-in is locked after too many failures.
    #[serde(default)]
    pub locked: bool,
}

impl UserFilter {
    pub fn is_empty(&self) -> bool {
        self.status.is_empty()
            && self.role.is_empty()
            && self.desk.is_empty()
            && self.group.is_empty()
            && self.skill.is_empty()
            && self.queue.is_empty()
            && self.agent.is_none()
            && self.supervisor.is_none()
            && self.search().is_none()
            && !self.locked
    }

    /// The search text as matched: trimmed and lowercased; `None` when blank.
    pub fn search(&self) -> Option<String> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase)
    }
}

/// The users a mass action applies to: the selected ones, those matching the filters, or all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Ids(Vec<UserId>),
    Filter(UserFilter),
    All,
}
