//! Parsing a user list's filters from the query string (R21, R37); the filter itself is
//! `model::user_filter`.

use crate::error::{Issues, Result};
use crate::model::user::UserStatus;
use crate::model::user_filter::UserFilter;

/// A list's filters as the query string or a form gives them, before they are checked.
#[derive(Debug, Default, Clone, Copy)]
pub struct FilterText<'a> {
    pub status: Option<&'a str>,
    pub role: Option<&'a str>,
    pub desk: Option<&'a str>,
    pub group: Option<&'a str>,
    pub skill: Option<&'a str>,
    pub queue: Option<&'a str>,
    /// `true` or `false`.
    pub agent: Option<&'a str>,
    pub supervisor: Option<&'a str>,
    pub q: Option<&'a str>,
}

impl UserFilter {
    /// Parses the comma-list query parameters of `GET …/users` (`status=active,disabled&desk=3,4`).
    pub fn from_query(text: FilterText<'_>) -> Result<UserFilter> {
        let FilterText { status, role, desk, group, skill, queue, agent, supervisor, q } = text;
        let mut issues = Issues::new();
        let mut filter = UserFilter { q: q.map(str::to_string), ..Default::default() };
        for item in split(status) {
            match UserStatus::parse(item) {
                Some(s) => filter.status.push(s),
                None => issues.add(
                    "status",
                    "unknown_status",
                    format!("unknown status {item:?}: use active, disabled or invited"),
                ),
            }
        }
        filter.role = parse_ids(&mut issues, "role", role);
        filter.desk = parse_ids(&mut issues, "desk", desk);
        filter.group = parse_ids(&mut issues, "group", group);
        filter.skill = parse_ids(&mut issues, "skill", skill);
        filter.queue = parse_ids(&mut issues, "queue", queue);
        filter.agent = parse_flag(&mut issues, "agent", agent);
        filter.supervisor = parse_flag(&mut issues, "supervisor", supervisor);
        if filter.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            issues.add("q", "too_long", "search text must be at most 200 characters");
        }
        if filter.q.as_ref().is_some_and(|q| q.chars().any(char::is_control)) {
            issues.add("q", "invalid_chars", "search text must not contain control characters");
        }
        issues.into_result()?;
        Ok(filter)
    }
}

fn split(value: Option<&str>) -> impl Iterator<Item = &str> {
    value.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_flag(issues: &mut Issues, field: &str, value: Option<&str>) -> Option<bool> {
    match value.map(str::trim).unwrap_or_default() {
        "" => None,
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        other => {
            issues.add(field, "invalid_flag", format!("{other:?} is not true or false"));
            None
        }
    }
}

fn parse_ids<T: std::str::FromStr>(issues: &mut Issues, field: &str, value: Option<&str>) -> Vec<T> {
    let mut ids = Vec::new();
    for item in split(value) {
        match item.parse::<T>() {
            Ok(id) => ids.push(id),
            Err(_) => issues.add(field, "invalid_id", format!("{item:?} is not an id")),
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{QueueId, RoleId};

    #[test]
    fn comma_lists_are_parsed() {
        let f = UserFilter::from_query(FilterText {
            status: Some("active,disabled"),
            role: Some("1, 2"),
            skill: Some(""),
            queue: Some("7"),
            agent: Some("true"),
            supervisor: Some("false"),
            q: Some("Ann"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.status, vec![UserStatus::Active, UserStatus::Disabled]);
        assert_eq!(f.role, vec![RoleId(1), RoleId(2)]);
        assert_eq!(f.queue, vec![QueueId(7)]);
        assert_eq!((f.agent, f.supervisor), (Some(true), Some(false)));
        assert!(f.skill.is_empty());
        assert_eq!(f.search().as_deref(), Some("ann"));
    }

    #[test]
    fn bad_values_are_all_reported() {
        let err = UserFilter::from_query(FilterText {
            status: Some("asleep"),
            role: Some("x"),
            agent: Some("maybe"),
            ..Default::default()
        })
        .unwrap_err();
        let fields: Vec<_> = err.field_issues().into_iter().map(|i| i.field).collect();
        assert_eq!(fields, vec!["status", "role", "agent"]);
    }

    #[test]
    fn control_characters_in_the_search_are_refused() {
        let err = UserFilter::from_query(FilterText { q: Some("a\u{0}b"), ..Default::default() }).unwrap_err();
        assert_eq!(err.field_issues()[0].field, "q");
    }

    #[test]
    fn blank_search_is_no_filter() {
        let f = UserFilter { q: Some("  ".into()), ..Default::default() };
        assert!(f.is_empty());
        assert_eq!(f.search(), None);
    }
}
