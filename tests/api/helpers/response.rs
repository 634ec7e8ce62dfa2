//! One HTTP response, read completely, with assertions that show it when they fail.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// One response, read completely.
#[derive(Debug)]
pub struct Resp {
    pub what: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    /// The body as JSON, or `Value::Null` when it is not JSON.
    pub body: Value,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Panics, showing the request and the whole response, unless the status is `expected`.
    #[track_caller]
    pub fn expect(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "{} answered {} (expected {expected}): {}",
            self.what,
            self.status,
            self.text()
        );
        self
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn json(&self, expected: u16) -> Value {
        self.expect(expected);
        self.body.clone()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }

    #[track_caller]
    pub fn etag(&self) -> String {
        self.header("etag").unwrap_or_else(|| panic!("{} returned no ETag: {:?}", self.what, self.headers))
    }

    /// Asserts an RFC 9457 problem with this status and returns it.
    #[track_caller]
    pub fn problem(&self, expected: u16) -> Value {
        self.expect(expected);
        assert!(
            self.content_type().starts_with("application/problem+json"),
            "{} answered {} with content type {:?}, not application/problem+json: {}",
            self.what,
            self.status,
            self.content_type(),
            self.text()
        );
        for key in ["type", "title", "detail"] {
            assert!(self.body[key].is_string(), "problem without {key:?}: {}", self.text());
        }
        assert_eq!(self.body["status"], json!(expected), "problem's status member: {}", self.text());
        self.body.clone()
    }

    /// The fields named in the problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// Asserts a problem with this status whose `errors` name `field`.
    #[track_caller]
    pub fn problem_on(&self, expected: u16, field: &str) -> Value {
        let problem = self.problem(expected);
        assert!(
            self.error_fields().iter().any(|f| f == field),
            "{} answered {expected} but did not name the field {field:?}: {}",
            self.what,
            self.text()
        );
        problem
    }

    /// Asserts a problem with this status whose `errors` hold `field` with `code`.
    #[track_caller]
    pub fn problem_field(&self, expected: u16, field: &str, code: &str) -> Value {
        let problem = self.problem_on(expected, field);
        let codes: Vec<&str> = problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["field"] == field)
            .filter_map(|e| e["code"].as_str())
            .collect();
        assert!(codes.contains(&code), "{} named {field:?} with {codes:?}, not {code:?}: {}", self.what, self.text());
        problem
    }
}
