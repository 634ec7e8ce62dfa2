//! HTTP helpers shared by the API routes: JSON bodies with problem+json rejections,
//! ETag / If-Match, and opaque list cursors.

pub mod client_address;
pub mod geoip;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A JSON body; malformed JSON or unknown fields are a 400, a missing content type a 415,
/// an oversize body a 413 — each as problem+json.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Error {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            Error::UnsupportedMediaType("send the body as JSON with Content-Type: application/json".into())
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Error::PayloadTooLarge("the request body is too large".into())
        }
        JsonRejection::JsonDataError(e) => Error::BadRequest(format!("invalid JSON body: {}", e.body_text())),
        JsonRejection::JsonSyntaxError(e) => Error::BadRequest(format!("malformed JSON: {}", e.body_text())),
        other => Error::BadRequest(other.body_text()),
    }
}

/// Query parameters with problem+json rejections.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(ApiQuery(q.0)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(Error::BadRequest(format!("invalid query: {}", e.body_text())))
            }
            Err(other) => Err(Error::BadRequest(other.body_text())),
        }
    }
}

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// A JSON response carrying the ETag of the version it shows.
pub fn with_etag<T: serde::Serialize>(status: StatusCode, version: i64, body: T) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// A 201 for a resource made by a POST: `Location` is where it can be read back (its item
/// route, `template` with `{account}` and `{id}` filled in), and its ETag when it has a version.
pub fn created<T: serde::Serialize>(template: &str, account: &str, id: i64, version: Option<i64>, body: T) -> Response {
    let location = template.replace("{account}", &path_segment(account)).replace("{id}", &id.to_string());
    let mut response = match version {
        Some(version) => with_etag(StatusCode::CREATED, version, body),
        None => (StatusCode::CREATED, axum::Json(body)).into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// The version a write expects, from `If-Match`. Writes to a resource require it, so that
/// no one overwrites a change they have not seen (412 when stale, 428 when missing).
pub fn if_match(headers: &HeaderMap) -> Result<i64, Error> {
    let value = headers
        .get(header::IF_MATCH)
        .ok_or(Error::PreconditionRequired("send If-Match with the ETag you read, so no change is lost"))?;
    let text = value.to_str().map_err(|_| Error::BadRequest("If-Match is not valid".into()))?.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.trim_matches('"').parse().map_err(|_| Error::PreconditionFailed)
}

/// Everything but RFC 3986's unreserved characters is percent-encoded in a path segment.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A value (an account's slug, say) as one URL path segment: `/`, `?`, `#`, `%` and the like
/// cannot change which route a URL names. Slugs are only `a-z0-9-` today; encoded anyway (D9).
pub fn path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

/// Which list a cursor belongs to: its name is inside the cursor, so that a cursor of one list
/// (or one this server never gave out) is refused with 400 instead of paging from nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorOf {
    Users,
    Roles,
    Groups,
    Desks,
    Skills,
    Accounts,
    Tokens,
    Sessions,
    Outbox,
    Activity,
    Activation,
    Periods,
    Invitations,
    Queues,
    TimeGroups,
    DialRules,
    MusicOnHold,
    InterceptGroups,
}

impl CursorOf {
    fn tag(self) -> &'static str {
        match self {
            CursorOf::Users => "u",
            CursorOf::Roles => "r",
            CursorOf::Groups => "g",
            CursorOf::Desks => "d",
            CursorOf::Skills => "k",
            CursorOf::Accounts => "a",
            CursorOf::Tokens => "t",
            CursorOf::Sessions => "s",
            CursorOf::Outbox => "o",
            CursorOf::Activity => "e",
            CursorOf::Activation => "v",
            CursorOf::Periods => "p",
            CursorOf::Invitations => "i",
            CursorOf::Queues => "q",
            CursorOf::TimeGroups => "w",
            CursorOf::DialRules => "x",
            CursorOf::MusicOnHold => "m",
            CursorOf::InterceptGroups => "y",
        }
    }
}

/// The position after (or before) which the next page starts, as an opaque string.
pub fn encode_cursor(list: CursorOf, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{position}", list.tag()).as_bytes())
}

/// An id position (newest-first lists page by id).
pub fn encode_id_cursor(list: CursorOf, id: i64) -> String {
    encode_cursor(list, &id.to_string())
}

/// The 400 for a cursor that is not one of this list's.
pub fn bad_cursor() -> Error {
    Error::InvalidParameter(crate::error::FieldIssue::new(
        "cursor",
        "invalid_cursor",
        "is not a cursor this server gave out for this list",
    ))
}

/// The position a cursor of `list` holds; anything else is a 400 naming `cursor`.
pub fn decode_cursor(list: CursorOf, cursor: &str) -> Result<String, Error> {
    let text = URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad_cursor)?;
    match text.split_once(':') {
        Some((tag, position)) if tag == list.tag() && !position.is_empty() => Ok(position.to_string()),
        _ => Err(bad_cursor()),
    }
}

/// The id of an id cursor of `list`: a positive integer, else 400.
pub fn decode_id_cursor(list: CursorOf, cursor: &str) -> Result<i64, Error> {
    match decode_cursor(list, cursor)?.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(bad_cursor()),
    }
}

/// The paging parameters of a list that has no filters.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// `limit` checked against the API's bounds (1–500, default 50).
pub fn page_limit(limit: Option<i64>) -> Result<i64, Error> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=500).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid("limit", "out_of_range", "must be between 1 and 500")),
    }
}

/// The `{account}/…/{id}` of an item route, with a non-numeric id answered as 404.
pub struct ItemPath {
    pub id: i64,
}

impl<S: Send + Sync> FromRequestParts<S> for ItemPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::NotFound("item"))?;
        params
            .iter()
            .find(|(k, _)| *k == "id")
            .and_then(|(_, v)| v.parse().ok())
            .map(|id| ItemPath { id })
            .ok_or(Error::NotFound("item"))
    }
}

/// The `{account}/…/{id}/…/{item}` of a route to an item under another (a user's period).
pub struct SubItemPath {
    pub id: i64,
    pub item: i64,
}

impl<S: Send + Sync> FromRequestParts<S> for SubItemPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::NotFound("item"))?;
        let number = |name: &str| params.iter().find(|(k, _)| *k == name).and_then(|(_, v)| v.parse().ok());
        match (number("id"), number("item")) {
            (Some(id), Some(item)) => Ok(SubItemPath { id, item }),
            _ => Err(Error::NotFound("item")),
        }
    }
}

/// An `If-Match` version when the request sends one (routes where it is optional).
pub fn if_match_given(headers: &HeaderMap) -> Result<Option<i64>, Error> {
    match headers.contains_key(header::IF_MATCH) {
        true => if_match(headers).map(Some),
        false => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_strong_and_weak_tags() {
        let mut h = HeaderMap::new();
        assert!(matches!(if_match(&h), Err(Error::PreconditionRequired(_))));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"7\""));
        assert_eq!(if_match(&h).unwrap(), 7);
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"8\""));
        assert_eq!(if_match(&h).unwrap(), 8);
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"abc\""));
        assert!(matches!(if_match(&h), Err(Error::PreconditionFailed)));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(CursorOf::Users, &encode_cursor(CursorOf::Users, "bob.x")).unwrap(), "bob.x");
        assert_eq!(decode_id_cursor(CursorOf::Outbox, &encode_id_cursor(CursorOf::Outbox, 42)).unwrap(), 42);
        for bad in ["%%%", "YWJj", ""] {
            assert!(matches!(decode_cursor(CursorOf::Users, bad), Err(Error::InvalidParameter(_))), "{bad}");
        }
        // Another list's cursor, and an id cursor that holds no id, mean nothing here.
        assert!(decode_cursor(CursorOf::Users, &encode_cursor(CursorOf::Roles, "bob")).is_err());
        assert!(decode_id_cursor(CursorOf::Outbox, &encode_cursor(CursorOf::Outbox, "x")).is_err());
        assert!(decode_id_cursor(CursorOf::Outbox, &encode_id_cursor(CursorOf::Outbox, 0)).is_err());
    }

    #[test]
    fn a_path_segment_cannot_leave_its_segment() {
        assert_eq!(path_segment("default"), "default");
        assert_eq!(path_segment("branch-2.x_y~"), "branch-2.x_y~");
        assert_eq!(path_segment("a/../b?c#d"), "a%2F..%2Fb%3Fc%23d");
        assert_eq!(path_segment("50% off é"), "50%25%20off%20%C3%A9");
    }
}

/// One page of a list.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from rows read with `limit + 1`: the extra row only tells that a next page exists,
    /// and the next page starts after the last row kept.
    pub fn of(mut rows: Vec<T>, limit: i64, cursor_after: impl Fn(&T) -> String) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(cursor_after)
        } else {
            None
        };
        Page { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}
