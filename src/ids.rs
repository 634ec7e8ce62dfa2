//! Typed identifiers: a `UserId` cannot be passed where a `RoleId` is expected.

macro_rules! typed_id {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }
    )*};
}

typed_id!(
    AccountId,
    UserId,
    RoleId,
    GroupId,
    DeskId,
    SkillId,
    SessionId,
    ActivityId,
    PeriodId,
    InvitationId,
    QueueId,
    TimeGroupId,
    IdentityProviderId,
    LinkedIdentityId
);
