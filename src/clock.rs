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

/// What time it is for the work that follows the calendar (scheduled deactivation and
/// reactivation): the system's time, or, for tests, a time the test moves itself. The job that
/// applies due changes reads this clock and, on a manual one, wakes when it is moved and reports
/// when it has caught up, so a test waits for the job instead of sleeping.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<std::sync::Arc<ManualTime>>,
}

#[derive(Debug)]
struct ManualTime {
    now: tokio::sync::watch::Sender<i64>,
    /// Per running job (one per instance sharing this clock): the time its last round looked at.
    caught_up: tokio::sync::watch::Sender<std::collections::HashMap<u64, i64>>,
    next_job: std::sync::atomic::AtomicU64,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that stands still at `start` until `advance` moves it (tests only).
    pub fn manual(start: Timestamp) -> Clock {
        let time = ManualTime {
            now: tokio::sync::watch::Sender::new(start.as_ms()),
            caught_up: tokio::sync::watch::Sender::new(std::collections::HashMap::new()),
            next_job: std::sync::atomic::AtomicU64::new(0),
        };
        Clock { manual: Some(std::sync::Arc::new(time)) }
    }

    pub fn now(&self) -> Timestamp {
        match &self.manual {
            Some(m) => Timestamp(*m.now.borrow()),
            None => Timestamp::now(),
        }
    }

    /// A manual clock moved forward by `ms`; returns once every job reading it has run a round
    /// at the new time (at most 30 s, then it panics: a test's job is not running).
    pub async fn advance(&self, ms: i64) {
        let Some(m) = &self.manual else { panic!("only a manual clock can be moved") };
        let mut target = 0;
        m.now.send_modify(|now| {
            *now = now.saturating_add(ms);
            target = *now;
        });
        let mut caught_up = m.caught_up.subscribe();
        let waited = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            caught_up.wait_for(|jobs| !jobs.is_empty() && jobs.values().all(|&t| t >= target)),
        )
        .await;
        assert!(matches!(waited, Ok(Ok(_))), "no job caught up with the clock moved to {target} within 30 s");
    }

    /// A manual clock moved forward by `ms` without waiting for any job (no server is running:
    /// the next to start applies what fell due meanwhile).
    pub fn move_forward(&self, ms: i64) {
        let Some(m) = &self.manual else { panic!("only a manual clock can be moved") };
        m.now.send_modify(|now| *now = now.saturating_add(ms));
    }

    /// What a job that follows this clock waits on between rounds.
    pub fn ticks(&self) -> Ticks {
        Ticks {
            manual: self.manual.as_ref().map(|m| {
                let job = m.next_job.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                m.caught_up.send_modify(|jobs| {
                    jobs.insert(job, i64::MIN);
                });
                (m.clone(), m.now.subscribe(), job)
            }),
        }
    }
}

/// A job's view of its clock: when it was moved, and telling it a round is done.
pub struct Ticks {
    manual: Option<(std::sync::Arc<ManualTime>, tokio::sync::watch::Receiver<i64>, u64)>,
}

impl Ticks {
    /// Resolves when a manual clock is moved; never for the system clock.
    pub async fn moved(&mut self) {
        match &mut self.manual {
            Some((_, now, _)) => {
                if now.changed().await.is_err() {
                    std::future::pending::<()>().await
                }
            }
            None => std::future::pending().await,
        }
    }

    /// The job's round that read the clock at `at` is done.
    pub fn caught_up(&self, at: Timestamp) {
        if let Some((m, _, job)) = &self.manual {
            m.caught_up.send_modify(|jobs| {
                jobs.insert(*job, at.as_ms());
            });
        }
    }
}

impl Drop for Ticks {
    fn drop(&mut self) {
        if let Some((m, _, job)) = &self.manual {
            m.caught_up.send_modify(|jobs| {
                jobs.remove(job);
            });
        }
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
