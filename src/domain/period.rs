//! A deactivation period as a request gives it (R18): `from` and `until` in RFC 3339, either
//! open, and why.

use super::issues::Issues;
use crate::clock::{Timestamp, parse_rfc3339};

/// How far ahead a period may be set: ten years.
const FURTHEST_MS: i64 = 10 * 366 * 24 * 3_600_000;

fn moment(issues: &mut Issues, field: &str, text: Option<&str>, now: Timestamp) -> Option<Timestamp> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    match parse_rfc3339(text).map(Timestamp::from_ms) {
        None => {
            issues.add(field, "invalid_time", "must be an RFC 3339 time such as 2026-01-31T09:00:00Z");
            None
        }
        Some(t) if t > now.plus_ms(FURTHEST_MS) => {
            issues.add(field, "too_far", "must be within ten years from now");
            None
        }
        Some(t) => Some(t),
    }
}

/// `from` (absent or past: now) and `until` (absent: no reactivation by itself; else after
/// `from` and in the future).
pub fn range(
    issues: &mut Issues,
    from: Option<&str>,
    until: Option<&str>,
    now: Timestamp,
) -> (Timestamp, Option<Timestamp>) {
    let from = moment(issues, "from", from, now).map_or(now, |f| f.max(now));
    let until = moment(issues, "until", until, now);
    if let Some(u) = until
        && u <= from
    {
        issues.add("until", "not_after_from", "must be later than from (and than now)");
    }
    (from, until)
}

/// A reason: trimmed, up to 500 characters; `None` when blank.
pub fn reason(issues: &mut Issues, field: &str, text: Option<&str>) -> Option<String> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    issues.check(field, super::Description::parse(text)).map(|d| d.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_starts_no_earlier_than_now_and_ends_after_it_starts() {
        let now = Timestamp::from_ms(1_800_000_000_000);
        let mut issues = Issues::new();
        let (from, until) = range(&mut issues, Some("2020-01-01T00:00:00Z"), None, now);
        assert!(issues.is_empty());
        assert_eq!((from, until), (now, None), "a past start is now");
        let (from, until) = range(&mut issues, None, Some("2027-02-01T08:00:00Z"), now);
        assert_eq!(from, now);
        assert_eq!(until, parse_rfc3339("2027-02-01T08:00:00Z").map(Timestamp::from_ms));
        assert!(issues.is_empty(), "{issues:?}");

        let mut issues = Issues::new();
        range(&mut issues, Some("2027-03-01T00:00:00Z"), Some("2027-02-01T00:00:00Z"), now);
        assert!(issues.has("until"));
        let mut issues = Issues::new();
        range(&mut issues, Some("next week"), None, now);
        assert!(issues.has("from"));
        let mut issues = Issues::new();
        range(&mut issues, None, Some("2999-01-01T00:00:00Z"), now);
        assert!(issues.has("until"), "too far ahead");
    }

    #[test]
    fn a_reason_is_trimmed_and_bounded() {
        let mut issues = Issues::new();
        assert_eq!(reason(&mut issues, "reason", Some("  parental leave ")).as_deref(), Some("parental leave"));
        assert_eq!(reason(&mut issues, "reason", Some("   ")), None);
        assert!(issues.is_empty());
        reason(&mut issues, "reason", Some(&"x".repeat(501)));
        assert!(issues.has("reason"));
    }
}
