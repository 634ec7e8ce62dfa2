//! What the activity log records about an event: who acted, what changed, what it is about.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::ids::{AccountId, UserId};

/// Who is acting, as recorded: a signed-in user, or the system (CLI, first start).
#[derive(Debug, Clone)]
pub struct Actor {
    pub account: AccountId,
    pub user: Option<UserId>,
    pub label: String,
    pub address: Option<String>,
}

impl Actor {
    pub fn system(account: AccountId, label: &str) -> Self {
        Actor { account, user: None, label: label.to_string(), address: None }
    }

    /// The same person acting in another account (platform operators).
    pub fn in_account(&self, account: AccountId) -> Self {
        Actor { account, ..self.clone() }
    }
}

/// A login as someone typed it at sign-in, as the label of an actor it names no user for: at
/// most 64 characters, control characters (the NUL character, which PostgreSQL refuses; line
/// breaks) shown as U+FFFD.
pub fn typed_login_label(typed: &str) -> String {
    typed.chars().take(64).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
}

/// What changed: `{"field": {"from": old, "to": new}}`. Secrets are never put here.
#[derive(Debug, Default, Clone)]
pub struct Changes(Map<String, Value>);

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `field` if `from` and `to` differ.
    pub fn diff<T: Serialize + PartialEq>(&mut self, field: &str, from: T, to: T) -> &mut Self {
        if from != to {
            self.0.insert(field.to_string(), json!({ "from": from, "to": to }));
        }
        self
    }

    /// Records a value set at creation or a detail of the action.
    pub fn set<T: Serialize>(&mut self, field: &str, value: T) -> &mut Self {
        self.0.insert(field.to_string(), json!(value));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_json(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| Value::Object(self.0.clone()).to_string())
    }
}

/// The thing an event is about.
pub struct Target<'a> {
    pub kind: &'a str,
    pub id: Option<i64>,
    pub label: &'a str,
}

impl<'a> Target<'a> {
    pub fn user(id: UserId, login: &'a str) -> Self {
        Target { kind: "user", id: Some(id.0), label: login }
    }
}

#[cfg(test)]
mod tests {
    use super::typed_login_label;

    #[test]
    fn a_typed_login_is_labelled_short_and_without_control_characters() {
        assert_eq!(typed_login_label("ann"), "ann");
        assert_eq!(typed_login_label("a\u{0}n\nn"), "a\u{FFFD}n\u{FFFD}n");
        assert_eq!(typed_login_label(&"é".repeat(100)).chars().count(), 64);
    }
}
