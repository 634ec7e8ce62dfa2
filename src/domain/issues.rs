//! Field issues: what was wrong with which field of a request, collected so that all are
//! reported at once. `error::Error::Validation` carries them to the client.

use serde::Serialize;

use super::Invalid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldIssue {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }

    pub fn from_invalid(field: impl Into<String>, invalid: Invalid) -> Self {
        Self::new(field, invalid.code, invalid.message)
    }
}

/// Collects field issues while parsing a request, so that all of them are reported at once.
#[derive(Debug, Default)]
pub struct Issues(Vec<FieldIssue>);

impl Issues {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, issue: FieldIssue) {
        self.0.push(issue);
    }

    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldIssue::new(field, code, message));
    }

    /// Parses `value` with `parse`, recording the failure under `field`.
    pub fn check<T>(&mut self, field: &str, value: Result<T, Invalid>) -> Option<T> {
        match value {
            Ok(v) => Some(v),
            Err(invalid) => {
                self.0.push(FieldIssue::from_invalid(field, invalid));
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many issues so far (a parser compares before and after to know whether its part failed).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `field` already has an issue (so a rule that depends on it need not add another).
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|i| i.field == field)
    }

    pub fn into_issues(self) -> Vec<FieldIssue> {
        self.0
    }
}
