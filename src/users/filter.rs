//! Parsing a user list's filters from the query string (R21, R37); the filter itself is
//! `model::user_filter`.

use crate::error::{Issues, Result};
use crate::model::user::UserStatus;
use crate::model::user_filter::UserFilter;

impl UserFilter {
    /// Parses the comma-list query parameters of `GET …/users` (`status=active,disabled&desk=3,4`).
    pub fn from_query(
        status: Option<&str>,
        role: Option<&str>,
        desk: Option<&str>,
        group: Option<&str>,
        skill: Option<&str>,
        q: Option<&str>,
    ) -> Result<UserFilter> {
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
    use crate::ids::RoleId;

    #[test]
    fn comma_lists_are_parsed() {
        let f =
            UserFilter::from_query(Some("active,disabled"), Some("1, 2"), None, None, Some(""), Some("Ann")).unwrap();
        assert_eq!(f.status, vec![UserStatus::Active, UserStatus::Disabled]);
        assert_eq!(f.role, vec![RoleId(1), RoleId(2)]);
        assert!(f.skill.is_empty());
        assert_eq!(f.search().as_deref(), Some("ann"));
    }

    #[test]
    fn bad_values_are_all_reported() {
        let err = UserFilter::from_query(Some("asleep"), Some("x"), None, None, None, None).unwrap_err();
        let fields: Vec<_> = err.field_issues().into_iter().map(|i| i.field).collect();
        assert_eq!(fields, vec!["status", "role"]);
    }

    #[test]
    fn control_characters_in_the_search_are_refused() {
        let err = UserFilter::from_query(None, None, None, None, None, Some("a\u{0}b")).unwrap_err();
        assert_eq!(err.field_issues()[0].field, "q");
    }

    #[test]
    fn blank_search_is_no_filter() {
        let f = UserFilter { q: Some("  ".into()), ..Default::default() };
        assert!(f.is_empty());
        assert_eq!(f.search(), None);
    }
}
