//! The one error type of Roster. Every layer returns it; the HTTP layer renders it as
//! RFC 9457 `application/problem+json`. Internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use crate::domain::issues::{FieldIssue, Issues};

/// One refused field of a request body or form.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("validation failed")]
    Validation(Vec<FieldIssue>),
    #[error("{message}")]
    Conflict { field: &'static str, message: String },
    /// The request is well formed but the resource's state refuses it (a built-in role cannot
    /// be deleted or renamed; an API token is revoked, not signed out): 409 naming the field.
    #[error("{}: {}", .0.field, .0.message)]
    StateConflict(FieldIssue),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The path exists but not with this method (`Allow` lists the methods it has).
    #[error("this path does not take this method; see the Allow header")]
    MethodNotAllowed,
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("the resource changed since it was read")]
    PreconditionFailed,
    #[error("{0}")]
    PreconditionRequired(&'static str),
    #[error("{0}")]
    BadRequest(String),
    /// A query parameter that is not what this server gave out or accepts (a cursor): 400 naming it.
    #[error("{}: {}", .0.field, .0.message)]
    InvalidParameter(FieldIssue),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many failed sign-ins from the client's address: try again after this many seconds.
    #[error("too many failed sign-ins from this address; try again in {0} seconds")]
    TooManyAttempts(u64),
    /// Asked again too soon (an invitation resent within the minute): after this many seconds.
    #[error("{1}; try again in {0} seconds")]
    TooSoon(u64, String),
    /// One-session policy (R33): the user is signed in elsewhere and did not ask to take over.
    #[error("{0}")]
    SessionActive(String),
    /// Access rules (R35) refuse the client's address: at sign-in and on every request.
    #[error("{0}")]
    AddressDenied(String),
    /// D4: the change would leave the account without an admin who can sign in.
    #[error("{0}")]
    LastAdmin(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldIssue::new(field, code, message)])
    }

    pub fn state_conflict(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Error::StateConflict(FieldIssue::new(field, code, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict { .. } | Error::StateConflict(_) => StatusCode::CONFLICT,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Unauthenticated => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Error::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Error::BadRequest(_) | Error::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::TooManyAttempts(_) | Error::TooSoon(..) => StatusCode::TOO_MANY_REQUESTS,
            Error::SessionActive(_) => StatusCode::CONFLICT,
            Error::AddressDenied(_) => StatusCode::FORBIDDEN,
            Error::LastAdmin(_) => StatusCode::CONFLICT,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The field issues a form should show next to its inputs.
    pub fn field_issues(&self) -> Vec<FieldIssue> {
        match self {
            Error::Validation(issues) => issues.clone(),
            Error::Conflict { field, message } => vec![FieldIssue::new(*field, "taken", message.clone())],
            Error::InvalidParameter(issue) | Error::StateConflict(issue) => vec![issue.clone()],
            _ => Vec::new(),
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (kind, title) = match self {
            Error::Validation(_) => ("validation", "Some fields are not valid"),
            Error::Conflict { .. } => ("conflict", "Already taken"),
            Error::StateConflict(_) => ("state-conflict", "Not possible in the resource's state"),
            Error::NotFound(_) => ("not-found", "Not found"),
            Error::MethodNotAllowed => ("method-not-allowed", "Method not allowed"),
            Error::Unauthenticated => ("unauthenticated", "Authentication required"),
            Error::Forbidden(_) => ("forbidden", "Not permitted"),
            Error::PreconditionFailed => ("stale", "Changed by someone else"),
            Error::PreconditionRequired(_) => ("precondition-required", "If-Match required"),
            Error::BadRequest(_) | Error::InvalidParameter(_) => ("bad-request", "Bad request"),
            Error::PayloadTooLarge(_) => ("too-large", "Payload too large"),
            Error::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Error::TooManyAttempts(_) => ("too-many-attempts", "Too many failed sign-ins"),
            Error::TooSoon(..) => ("too-soon", "Too soon"),
            Error::SessionActive(_) => ("session-active", "Signed in elsewhere"),
            Error::AddressDenied(_) => ("address-denied", "Address not allowed"),
            Error::LastAdmin(_) => ("last-admin", "The account needs an admin"),
            Error::Internal(_) => ("internal", "Internal error"),
        };
        let detail = match self {
            Error::Validation(issues) if issues.len() == 1 => format!("{}: {}", issues[0].field, issues[0].message),
            Error::Validation(issues) => format!("{} fields are not valid", issues.len()),
            Error::PreconditionFailed => {
                "the resource was changed since you read it; read it again and retry".to_string()
            }
            Error::Internal(_) => "something went wrong on our side; it has been logged".to_string(),
            other => other.to_string(),
        };
        Problem {
            kind: format!("https://roster.dev/problems/{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            code: match self {
                Error::SessionActive(_) => Some("session_active"),
                Error::AddressDenied(_) => Some("address_denied"),
                Error::LastAdmin(_) => Some("last_admin"),
                _ => None,
            },
            errors: self.field_issues(),
        }
    }
}

/// RFC 9457 problem details, with Roster's `errors` extension for field issues.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// A stable name for problems a client is expected to act on (`session_active`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldIssue>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(cause) = &self {
            tracing::error!(error = ?cause, "internal error");
        }
        let problem = self.problem();
        let mut response = (self.status(), axum::Json(problem)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if matches!(self, Error::Unauthenticated) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Error::TooManyAttempts(seconds) | Error::TooSoon(seconds, _) = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            // The last guard: text PostgreSQL cannot hold (the NUL character) that no check
            // refused earlier. Logged, since a check is missing somewhere.
            if db.code().as_deref() == Some("22021") {
                tracing::warn!(error = %db, "text the database cannot store reached it");
                return Error::invalid(
                    "request",
                    "invalid_chars",
                    "text may not contain characters the database cannot store, such as the NUL character (U+0000)",
                );
            }
            if db.code().as_deref() == Some("40001") {
                return Error::Conflict {
                    field: "request",
                    message: "another change touched the same users at the same time; try again".into(),
                };
            }
            // What a row refers to went away (or came into use) in a concurrent change that the
            // services' checks could not see yet.
            if db.is_foreign_key_violation() {
                return Error::state_conflict(
                    "request",
                    "changed_meanwhile",
                    "something this change refers to was changed or removed at the same time; try again",
                );
            }
            // Migration 0015's trigger: a SIP user name that is another user's extension (SQLite
            // reports it as a trigger's abort, PostgreSQL as a unique violation).
            if db.message().contains("sip_name_clash: extension") {
                return Error::Conflict {
                    field: "extension",
                    message: "another user of the account authenticates with this as their SIP user name".into(),
                };
            }
            if db.message().contains("sip_name_clash") {
                return Error::Conflict {
                    field: "sip_username",
                    message: "another user of the account has this as their extension".into(),
                };
            }
            if db.is_unique_violation() {
                let field = unique_violation_field(db.as_ref());
                return Error::Conflict {
                    field,
                    message: format!("this {} is already taken", field.replace('_', " ")),
                };
            }
        }
        Error::Internal(anyhow::Error::new(err))
    }
}

impl Issues {
    pub fn into_result(self) -> Result<()> {
        if self.is_empty() { Ok(()) } else { Err(Error::Validation(self.into_issues())) }
    }
}

/// Which request field a unique violation is about. PostgreSQL names the index; SQLite
/// names the columns in its message. Index and column names are chosen so both read alike.
pub fn unique_violation_field(err: &dyn sqlx::error::DatabaseError) -> &'static str {
    let text = format!("{} {}", err.constraint().unwrap_or_default(), err.message());
    for (needle, field) in [
        ("sip_realm", "sip_realm"),
        ("sip_name", "sip_username"),
        ("login_key", "login"),
        ("email_key", "email"),
        ("extension", "extension"),
        ("name_key", "name"),
        ("providers_label", "label"),
        ("label_key", "label"),
        ("slug", "slug"),
    ] {
        if text.contains(needle) {
            return field;
        }
    }
    "value"
}

/// Turns a service error into a sentence for the terminal.
pub fn explain(err: Error) -> anyhow::Error {
    let problem = err.problem();
    let mut text = problem.detail.clone();
    for issue in problem.errors.iter().skip(usize::from(problem.errors.len() == 1)) {
        text.push_str(&format!("\n  {}: {}", issue.field, issue.message));
    }
    if let Error::Internal(cause) = err {
        return cause.context(text);
    }
    anyhow::anyhow!(text)
}
