//! Time as stored: milliseconds since the Unix epoch (portable across SQLite and PostgreSQL).
//!
//! `Timestamp` is such a moment, typed: a deadline (a lock, a session's end) or when something
//! happened. It is a BIGINT column as before; "never" is `Option::None`, not a sentinel value.
//! Durations stay plain milliseconds, named `…_ms`.

use sqlx::Any;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn to_rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

pub fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A moment: milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_ms(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    pub fn now() -> Timestamp {
        Timestamp(now_ms())
    }

    /// Milliseconds since the epoch, as stored and bound.
    pub const fn as_ms(self) -> i64 {
        self.0
    }

    /// `ms` milliseconds later (earlier when negative).
    pub const fn plus_ms(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to this moment (negative when `earlier` is later).
    pub const fn ms_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn to_rfc3339(self) -> String {
        to_rfc3339(self.0)
    }
}

impl sqlx::Type<Any> for Timestamp {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Any> for Timestamp {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Timestamp(<i64 as sqlx::Decode<Any>>::decode(value)?))
    }
}

impl<'q> sqlx::Encode<'q, Any> for Timestamp {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <i64 as sqlx::Encode<Any>>::encode_by_ref(&self.0, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn moments_order_and_count_in_milliseconds() {
        let t = Timestamp::from_ms(1_000);
        assert!(t.plus_ms(1) > t);
        assert_eq!(t.plus_ms(60_000).ms_since(t), 60_000);
        assert_eq!(Timestamp::from_ms(i64::MAX).plus_ms(1), Timestamp::from_ms(i64::MAX), "saturates");
        assert_eq!(Timestamp::from_ms(0).to_rfc3339(), "1970-01-01T00:00:00Z");
    }
}
