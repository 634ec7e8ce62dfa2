//! Times as the viewer reads them (R7): in their time zone and date and time formats (their
//! own settings, else their account's, else UTC, YYYY/MM/DD and 24 h), with the zone named.
//! The API keeps RFC 3339 in UTC.
//!
//! Every console page formats its times through `ui::time`, deep in its rendering; rather than
//! hand the viewer to each call, the console's middleware (`scope`) opens a per-request slot and
//! the `ConsoleUser` extractor fills it (`set_viewer`). A page without a signed-in viewer shows UTC.

use std::cell::Cell;

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::domain::{DateFormat, TimeFormat};
use crate::model::settings::TimeDisplay;

tokio::task_local! {
    static VIEWER: Cell<ViewerTime>;
}

/// How one viewer reads times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ViewerTime {
    zone: Tz,
    date: DateFormat,
    time: TimeFormat,
}

impl Default for ViewerTime {
    fn default() -> Self {
        ViewerTime { zone: Tz::UTC, date: DateFormat::YearMonthDay, time: TimeFormat::H24 }
    }
}

impl ViewerTime {
    pub(crate) fn of(display: &TimeDisplay) -> ViewerTime {
        let d = ViewerTime::default();
        ViewerTime {
            zone: display.time_zone.map_or(d.zone, |z| z.tz()),
            date: display.date_format.unwrap_or(d.date),
            time: display.time_format.unwrap_or(d.time),
        }
    }

    /// The viewer of the request being answered (UTC when nobody is signed in).
    pub(crate) fn current() -> ViewerTime {
        VIEWER.try_with(Cell::get).unwrap_or_default()
    }

    /// The zone's IANA name, as forms name it.
    pub(crate) fn zone_name(&self) -> &'static str {
        self.zone.name()
    }

    fn pattern(&self) -> String {
        let date = match self.date {
            DateFormat::MonthDayYear => "%m/%d/%Y",
            DateFormat::DayMonthYear => "%d/%m/%Y",
            DateFormat::YearMonthDay => "%Y/%m/%d",
        };
        let time = match self.time {
            TimeFormat::H24 => "%H:%M:%S",
            TimeFormat::H12 => "%I:%M:%S %p",
        };
        format!("{date} {time} %Z")
    }

    /// `ms` since the epoch as this viewer reads it: `31/01/2026 03:05:09 PM CET`.
    pub(crate) fn format(&self, ms: i64) -> String {
        match self.zone.timestamp_millis_opt(ms).single() {
            Some(t) => t.format(&self.pattern()).to_string(),
            None => String::new(),
        }
    }

    /// A `datetime-local` input's value read in this viewer's zone, as RFC 3339 in UTC. A value
    /// that is not such a time goes on as it is, for the service to refuse by name; a local time
    /// that a change of clocks skips is read as the first valid moment after it, and one that
    /// occurs twice as the first of the two.
    pub(crate) fn local_input_to_rfc3339(&self, value: &str) -> String {
        let value = value.trim();
        let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"));
        let Ok(naive) = naive else { return value.to_string() };
        let local = self.zone.from_local_datetime(&naive).earliest().or_else(|| {
            // Skipped by a change of clocks: an hour later is always valid.
            self.zone.from_local_datetime(&(naive + chrono::Duration::hours(1))).earliest()
        });
        match local {
            Some(t) => crate::clock::to_rfc3339(t.timestamp_millis()),
            None => value.to_string(),
        }
    }
}

/// Runs a console request with a slot for its viewer's time display.
pub(crate) async fn scope(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    VIEWER.scope(Cell::new(ViewerTime::default()), next.run(request)).await
}

/// The signed-in viewer of this request (called by the `ConsoleUser` extractor).
pub(crate) fn set_viewer(display: &TimeDisplay) {
    let _ = VIEWER.try_with(|v| v.set(ViewerTime::of(display)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TimeZoneName;

    fn viewer(zone: &str, date: DateFormat, time: TimeFormat) -> ViewerTime {
        ViewerTime::of(&TimeDisplay {
            time_zone: Some(TimeZoneName::parse(zone).unwrap()),
            date_format: Some(date),
            time_format: Some(time),
        })
    }

    #[test]
    fn times_read_in_the_viewers_zone_and_formats() {
        let ms = crate::clock::parse_rfc3339("2026-01-31T14:05:09Z").unwrap();
        assert_eq!(ViewerTime::default().format(ms), "2026/01/31 14:05:09 UTC");
        let berlin = viewer("Europe/Berlin", DateFormat::DayMonthYear, TimeFormat::H12);
        assert_eq!(berlin.format(ms), "31/01/2026 03:05:09 PM CET");
        let new_york = viewer("America/New_York", DateFormat::MonthDayYear, TimeFormat::H24);
        assert_eq!(new_york.format(ms), "01/31/2026 09:05:09 EST");
        let summer = crate::clock::parse_rfc3339("2026-07-01T12:00:00Z").unwrap();
        assert_eq!(berlin.format(summer), "01/07/2026 02:00:00 PM CEST");
    }

    #[test]
    fn form_times_are_read_in_the_viewers_zone() {
        let berlin = viewer("Europe/Berlin", DateFormat::YearMonthDay, TimeFormat::H24);
        assert_eq!(berlin.local_input_to_rfc3339("2026-01-31T15:05"), "2026-01-31T14:05:00Z");
        // 02:30 does not exist on 29 March 2026 in Berlin: an hour later does.
        assert_eq!(berlin.local_input_to_rfc3339("2026-03-29T02:30"), "2026-03-29T01:30:00Z");
        // 02:30 happens twice on 25 October 2026: the first (summer time) is meant.
        assert_eq!(berlin.local_input_to_rfc3339("2026-10-25T02:30"), "2026-10-25T00:30:00Z");
        assert_eq!(berlin.local_input_to_rfc3339("tomorrow"), "tomorrow", "left for the service to refuse");
    }
}
