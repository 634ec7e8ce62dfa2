//! A time group's rules (R16): weekly ranges of hours in a time zone, and holidays. Parsed once
//! from what the API and the console give; asked "in effect at this instant?" by the PBX's
//! reads of queue members.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::TimeZoneName;
use crate::error::Issues;

pub const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// Ranges per weekday and holidays, at most this many.
const MOST_RANGES_A_DAY: usize = 12;
const MOST_HOLIDAYS: usize = 400;
const MINUTES_A_DAY: u16 = 24 * 60;

/// One range of a day, as the API writes it: `{"from": "09:00", "to": "17:00"}`. `to` may be
/// `24:00`; a `to` not after `from` runs past midnight into the next day (`22:00`–`06:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeText {
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub from: String,
    #[schema(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    pub to: String,
}

/// A range in minutes after midnight; `to` ≤ `from` runs past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub from: u16,
    pub to: u16,
}

impl Range {
    fn wraps(self) -> bool {
        self.to <= self.from
    }

    /// Whether minute `m` of the range's own day is in it.
    fn holds_same_day(self, m: u16) -> bool {
        match self.wraps() {
            false => self.from <= m && m < self.to,
            true => m >= self.from,
        }
    }

    /// Whether minute `m` of the next day is in the part of the range after midnight.
    fn holds_next_day(self, m: u16) -> bool {
        self.wraps() && m < self.to
    }

    /// The part of its own day the range covers, for overlap checks: `[from, end)`.
    fn own_day_end(self) -> u16 {
        if self.wraps() { MINUTES_A_DAY } else { self.to }
    }

    pub fn text(self) -> RangeText {
        RangeText { from: hhmm(self.from), to: hhmm(self.to) }
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `HH:MM`, 00:00–23:59, and `24:00` where `end` allows it.
fn parse_time(text: &str, end: bool) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if end => Some(MINUTES_A_DAY),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// A time group's rules, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub zone: Tz,
    /// Monday first.
    pub days: [Vec<Range>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

/// The days as the API writes them: `{"monday": [{"from": "09:00", "to": "17:00"}], …}`;
/// a day left out has no ranges.
pub type DaysText = std::collections::BTreeMap<String, Vec<RangeText>>;

impl Rules {
    /// Checks the days and holidays, each fault named by its field (`days.monday[1].to`).
    pub fn parse(issues: &mut Issues, zone: TimeZoneName, days: &DaysText, holidays: &[String]) -> Option<Rules> {
        let before = issues.len();
        let mut out: [Vec<Range>; 7] = Default::default();
        let mut given = [false; 7];
        for (day, ranges) in days {
            let Some(index) = WEEKDAYS.iter().position(|d| d == &day.trim().to_lowercase()) else {
                issues.add(
                    &format!("days.{day}"),
                    "unknown_day",
                    "days are named monday, tuesday, wednesday, thursday, friday, saturday and sunday",
                );
                continue;
            };
            if std::mem::replace(&mut given[index], true) {
                issues.add(&format!("days.{day}"), "duplicate_day", format!("{} is given twice", WEEKDAYS[index]));
                continue;
            }
            if ranges.len() > MOST_RANGES_A_DAY {
                issues.add(&format!("days.{day}"), "too_many", format!("at most {MOST_RANGES_A_DAY} ranges a day"));
                continue;
            }
            for (i, r) in ranges.iter().enumerate() {
                let field = |part: &str| format!("days.{}[{i}].{part}", WEEKDAYS[index]);
                let from = parse_time(&r.from, false);
                let to = parse_time(&r.to, true);
                if from.is_none() {
                    issues.add(
                        &field("from"),
                        "invalid_time",
                        format!("{:?} is not a time from 00:00 to 23:59", r.from),
                    );
                }
                if to.is_none() {
                    issues.add(&field("to"), "invalid_time", format!("{:?} is not a time from 00:00 to 24:00", r.to));
                }
                if let (Some(from), Some(to)) = (from, to) {
                    if from == to {
                        issues.add(
                            &field("to"),
                            "empty_range",
                            "a range ends after it starts (00:00 to 24:00 is the whole day)",
                        );
                        continue;
                    }
                    out[index].push(Range { from, to });
                }
            }
            out[index].sort();
            for pair in out[index].windows(2) {
                if pair[1].from < pair[0].own_day_end() {
                    issues.add(
                        &format!("days.{}", WEEKDAYS[index]),
                        "overlapping",
                        format!(
                            "the ranges {}–{} and {}–{} overlap: merge them",
                            hhmm(pair[0].from),
                            hhmm(pair[0].to),
                            hhmm(pair[1].from),
                            hhmm(pair[1].to)
                        ),
                    );
                    break;
                }
            }
        }
        // A range past midnight runs into the next morning: it may not overlap that day's ranges.
        for (index, ranges) in out.iter().enumerate() {
            let next = &out[(index + 1) % 7];
            if let Some(r) = ranges.iter().find(|r| r.wraps() && next.iter().any(|n| n.from < r.to)) {
                issues.add(
                    &format!("days.{}", WEEKDAYS[(index + 1) % 7]),
                    "overlapping",
                    format!(
                        "{}'s range {}–{} runs into {} and overlaps its ranges",
                        WEEKDAYS[index],
                        hhmm(r.from),
                        hhmm(r.to),
                        WEEKDAYS[(index + 1) % 7]
                    ),
                );
            }
        }
        if holidays.len() > MOST_HOLIDAYS {
            issues.add("holidays", "too_many", format!("at most {MOST_HOLIDAYS} holidays"));
        }
        let mut dates = BTreeSet::new();
        for (i, h) in holidays.iter().enumerate().take(MOST_HOLIDAYS) {
            match NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d") {
                Ok(date) if h.trim().len() == 10 => {
                    dates.insert(date);
                }
                _ => {
                    issues.add(&format!("holidays[{i}]"), "invalid_date", format!("{h:?} is not a date as YYYY-MM-DD"))
                }
            }
        }
        (issues.len() == before).then_some(Rules { zone: zone.tz(), days: out, holidays: dates })
    }

    /// Whether the group is in effect at `at_ms` (milliseconds since the epoch), in its zone's
    /// wall-clock time: on a day of a range; a range past midnight holds into the next morning;
    /// a holiday is closed all day, and its ranges do not run past midnight either.
    pub fn in_effect(&self, at_ms: i64) -> bool {
        let Some(utc) = chrono::DateTime::from_timestamp_millis(at_ms) else { return false };
        let local = self.zone.from_utc_datetime(&utc.naive_utc());
        let date = local.date_naive();
        if self.holidays.contains(&date) {
            return false;
        }
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let today = date.weekday().num_days_from_monday() as usize;
        if self.days[today].iter().any(|r| r.holds_same_day(minute)) {
            return true;
        }
        let yesterday = date.pred_opt();
        let yesterday_open = yesterday.is_some_and(|d| !self.holidays.contains(&d));
        yesterday_open && self.days[(today + 6) % 7].iter().any(|r| r.holds_next_day(minute))
    }

    /// The days as the API writes them (every weekday, empty ones too, Monday first).
    pub fn days_text(&self) -> Vec<(&'static str, Vec<RangeText>)> {
        WEEKDAYS.iter().zip(&self.days).map(|(d, ranges)| (*d, ranges.iter().map(|r| r.text()).collect())).collect()
    }

    /// The days as stored: only days with ranges.
    pub fn days_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = self
            .days_text()
            .into_iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(d, r)| (d.to_string(), serde_json::to_value(r).unwrap_or_default()))
            .collect();
        serde_json::Value::Object(map).to_string()
    }

    pub fn holidays_text(&self) -> Vec<String> {
        self.holidays.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect()
    }

    pub fn holidays_json(&self) -> String {
        serde_json::to_string(&self.holidays_text()).unwrap_or_else(|_| "[]".into())
    }

    /// Rules as stored (written by `days_json` and `holidays_json`, so already checked).
    pub fn from_stored(zone: &str, days: &str, holidays: &str) -> Option<Rules> {
        let zone = TimeZoneName::parse(zone).ok()?;
        let days: DaysText = serde_json::from_str(days).ok()?;
        let holidays: Vec<String> = serde_json::from_str(holidays).ok()?;
        Rules::parse(&mut Issues::new(), zone, &days, &holidays)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(zone: &str, days: serde_json::Value, holidays: &[&str]) -> Rules {
        let days: DaysText = serde_json::from_value(days).unwrap();
        let holidays: Vec<String> = holidays.iter().map(|h| h.to_string()).collect();
        let mut issues = Issues::new();
        let out = Rules::parse(&mut issues, TimeZoneName::parse(zone).unwrap(), &days, &holidays);
        assert!(issues.is_empty(), "{:?}", issues.into_issues());
        out.unwrap()
    }

    fn at(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    fn faults(days: serde_json::Value, holidays: &[&str]) -> Vec<(String, String)> {
        let days: DaysText = serde_json::from_value(days).unwrap();
        let holidays: Vec<String> = holidays.iter().map(|h| h.to_string()).collect();
        let mut issues = Issues::new();
        assert!(Rules::parse(&mut issues, TimeZoneName::parse("UTC").unwrap(), &days, &holidays).is_none());
        issues.into_issues().into_iter().map(|i| (i.field, i.code)).collect()
    }

    #[test]
    fn office_hours_hold_on_their_days_only() {
        let r = rules("UTC", serde_json::json!({ "monday": [{ "from": "09:00", "to": "17:00" }] }), &[]);
        // 2026-12-07 is a Monday.
        assert!(!r.in_effect(at("2026-12-07T08:59:59Z")));
        assert!(r.in_effect(at("2026-12-07T09:00:00Z")));
        assert!(r.in_effect(at("2026-12-07T16:59:00Z")));
        assert!(!r.in_effect(at("2026-12-07T17:00:00Z")), "the end is not in the range");
        assert!(!r.in_effect(at("2026-12-08T10:00:00Z")), "Tuesday has no ranges");
    }

    #[test]
    fn a_range_past_midnight_holds_into_the_next_morning() {
        let r = rules("UTC", serde_json::json!({ "friday": [{ "from": "22:00", "to": "06:00" }] }), &[]);
        // 2026-12-04 is a Friday.
        assert!(!r.in_effect(at("2026-12-04T21:59:00Z")));
        assert!(r.in_effect(at("2026-12-04T23:30:00Z")));
        assert!(r.in_effect(at("2026-12-05T05:59:00Z")), "Saturday morning belongs to Friday's range");
        assert!(!r.in_effect(at("2026-12-05T06:00:00Z")));
        assert!(!r.in_effect(at("2026-12-04T03:00:00Z")), "Friday morning is Thursday's, which has none");
    }

    #[test]
    fn a_holiday_is_closed_all_day_and_does_not_run_past_midnight() {
        let days = serde_json::json!({
            "thursday": [{ "from": "20:00", "to": "02:00" }],
            "friday": [{ "from": "10:00", "to": "24:00" }],
        });
        let r = rules("UTC", days, &["2026-12-25"]);
        // 2026-12-24 is a Thursday; its range runs into the holiday, which closes it.
        assert!(r.in_effect(at("2026-12-24T21:00:00Z")));
        assert!(!r.in_effect(at("2026-12-25T01:00:00Z")));
        assert!(!r.in_effect(at("2026-12-25T12:00:00Z")), "Christmas is a holiday");
        assert!(r.in_effect(at("2027-01-01T12:00:00Z")), "the next Friday is not");
    }

    #[test]
    fn wall_clock_hours_follow_daylight_saving() {
        let r = rules(
            "Europe/Berlin",
            serde_json::json!({ "friday": [{ "from": "09:00", "to": "17:00" }], "monday": [{ "from": "09:00", "to": "17:00" }] }),
            &[],
        );
        // Friday 27 March 2026 is winter time (UTC+1): 09:00 is 08:00 UTC.
        assert!(!r.in_effect(at("2026-03-27T07:30:00Z")));
        assert!(r.in_effect(at("2026-03-27T08:30:00Z")));
        // Clocks went forward on Sunday 29 March; on Monday 30 March 09:00 is 07:00 UTC.
        assert!(r.in_effect(at("2026-03-30T07:30:00Z")));
        assert!(!r.in_effect(at("2026-03-30T06:30:00Z")));
        assert!(!r.in_effect(at("2026-03-30T15:30:00Z")), "17:30 summer time");
    }

    #[test]
    fn the_repeated_hour_of_autumn_is_in_a_range_both_times() {
        let r = rules("Europe/Berlin", serde_json::json!({ "sunday": [{ "from": "02:00", "to": "03:00" }] }), &[]);
        // On Sunday 25 October 2026, 02:00–03:00 happens twice: 00:00–01:00 and 01:00–02:00 UTC.
        assert!(r.in_effect(at("2026-10-25T00:30:00Z")));
        assert!(r.in_effect(at("2026-10-25T01:30:00Z")));
        assert!(!r.in_effect(at("2026-10-25T02:30:00Z")));
    }

    #[test]
    fn bad_days_ranges_and_dates_are_each_named() {
        let found = faults(
            serde_json::json!({
                "funday": [],
                "monday": [{ "from": "25:00", "to": "17:00" }, { "from": "10:00", "to": "10:00" }],
                "tuesday": [{ "from": "09:00", "to": "12:00" }, { "from": "11:00", "to": "13:00" }],
            }),
            &["2026-02-30", "tomorrow"],
        );
        let want = [
            ("days.funday", "unknown_day"),
            ("days.monday[0].from", "invalid_time"),
            ("days.monday[1].to", "empty_range"),
            ("days.tuesday", "overlapping"),
            ("holidays[0]", "invalid_date"),
            ("holidays[1]", "invalid_date"),
        ];
        assert_eq!(found, want.map(|(f, c)| (f.to_string(), c.to_string())).to_vec());
    }

    #[test]
    fn a_day_given_twice_or_a_night_running_into_the_morning_is_refused() {
        let found = faults(
            serde_json::json!({
                "monday": [{ "from": "22:00", "to": "07:00" }],
                "tuesday": [{ "from": "06:00", "to": "12:00" }],
                "tuesday ": [],
            }),
            &[],
        );
        let codes: Vec<(&str, &str)> = found.iter().map(|(f, c)| (f.as_str(), c.as_str())).collect();
        assert_eq!(codes, [("days.tuesday ", "duplicate_day"), ("days.tuesday", "overlapping")]);
    }

    #[test]
    fn stored_rules_read_back_the_same() {
        let r = rules(
            "America/New_York",
            serde_json::json!({ "sunday": [{ "from": "22:00", "to": "24:00" }], "monday": [{ "from": "00:00", "to": "08:30" }] }),
            &["2026-07-04"],
        );
        let back = Rules::from_stored("America/New_York", &r.days_json(), &r.holidays_json()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.days_text()[0].1, vec![RangeText { from: "00:00".into(), to: "08:30".into() }]);
    }
}
