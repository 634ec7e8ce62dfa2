//! The published OpenAPI document (`/api/v1/openapi.json`). Each route's annotation names what
//! is particular to it (its body, its 200/201, the 404 or 409 of its own resource); what every
//! route of a kind can answer is added here once, from the route's shape, so that no route can
//! forget a status the shared extractors return:
//!
//! - a bearer route: 401 (no or bad credentials) and 403 (a permission it lacks, or the access
//!   rules refuse the address);
//! - a route with path parameters: 404 (no such account or item);
//! - a JSON body: 400 (malformed JSON, an unknown field, a wrong type), 413, 415 and 422;
//! - query parameters: 400 (an unknown parameter, a cursor this server did not give out) and
//!   422 (a value out of range);
//! - `If-Match` (required, an entity tag): 400, 412 (stale) and 428 (missing);
//! - a change within an account: 409 (a value taken, the account's last admin, a built-in role);
//! - a 201 of a resource with an item route: its `Location`.
//!
//! Every error is declared as `application/problem+json` with the `Problem` schema, which is what
//! `error::Error` renders. Where one Rust input type serves several routes (a create and its
//! PATCH, the four catalog kinds), `REQUEST_SHAPES` states what each route requires or refuses.

use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Roster API", description = "User and access management for PBX and call-center platforms. \
        Errors are RFC 9457 problem+json; lists use `limit` and an opaque `cursor`; writes to a resource need `If-Match`."),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

const PROBLEM_JSON: &str = "application/problem+json";
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// A route whose body type is shared: the fields it requires and the fields it does not take.
struct RequestShape {
    method: &'static str,
    path: &'static str,
    required: &'static [&'static str],
    refused: &'static [&'static str],
}

const CATALOG_ONLY: [&str; 3] = ["permissions", "roles", "scope"];

const REQUEST_SHAPES: &[RequestShape] = &[
    RequestShape { method: "post", path: "/api/v1/accounts/{account}/users", required: &["login"], refused: &[] },
    RequestShape {
        method: "patch",
        path: "/api/v1/accounts/{account}/users/{id}",
        required: &[],
        refused: &["password", "must_change_password"],
    },
    RequestShape { method: "post", path: "/api/v1/accounts/{account}/roles", required: &["name"], refused: &["roles"] },
    RequestShape { method: "patch", path: "/api/v1/accounts/{account}/roles/{id}", required: &[], refused: &["roles"] },
    RequestShape {
        method: "post",
        path: "/api/v1/accounts/{account}/groups",
        required: &["name"],
        refused: &["permissions", "scope"],
    },
    RequestShape {
        method: "patch",
        path: "/api/v1/accounts/{account}/groups/{id}",
        required: &[],
        refused: &["permissions", "scope"],
    },
    RequestShape {
        method: "post",
        path: "/api/v1/accounts/{account}/desks",
        required: &["name"],
        refused: &CATALOG_ONLY,
    },
    RequestShape {
        method: "patch",
        path: "/api/v1/accounts/{account}/desks/{id}",
        required: &[],
        refused: &CATALOG_ONLY,
    },
    RequestShape {
        method: "post",
        path: "/api/v1/accounts/{account}/skills",
        required: &["name"],
        refused: &CATALOG_ONLY,
    },
    RequestShape {
        method: "patch",
        path: "/api/v1/accounts/{account}/skills/{id}",
        required: &[],
        refused: &CATALOG_ONLY,
    },
];

/// Adds what every route of a kind answers (see the module's comment), declares errors as
/// problem+json, and shapes the shared request bodies.
pub fn complete(openapi: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    // The document is Roster's own, built at start: failing to read it back is a bug to see at
    // once, not a reason to publish the document unfinished.
    let mut doc = serde_json::to_value(&openapi).expect("the OpenAPI document serializes");
    bound_integers(&mut doc);
    close_tagged_variants(&mut doc);
    let schemas = doc["components"]["schemas"].clone();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                    complete_operation(operation, method, path);
                    if let Some(shape) = REQUEST_SHAPES.iter().find(|s| s.method == method && s.path == path) {
                        shape_request(operation, shape, &schemas);
                    }
                }
            }
        }
    }
    serde_json::from_value(doc).expect("the completed OpenAPI document reads back")
}

fn complete_operation(operation: &mut Map<String, Value>, method: &str, path: &str) {
    let mut has_query = false;
    let mut if_match = false;
    if let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) {
        for parameter in parameters {
            match (parameter["in"].as_str(), parameter["name"].as_str()) {
                (Some("query"), _) => has_query = true,
                (Some("header"), Some("If-Match")) => {
                    if_match = true;
                    parameter["required"] = json!(true);
                    parameter["description"] = json!("The ETag of the version read, e.g. `\"3\"`");
                    parameter["schema"] = json!({ "type": "string", "pattern": "^(W/)?\"[0-9]{1,18}\"$" });
                }
                _ => {}
            }
        }
    }
    let has_body = operation.contains_key("requestBody");
    let secured = operation.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
    let writes_in_account = secured
        && method != "get"
        && path.starts_with("/api/v1/accounts/{account}")
        && path != "/api/v1/accounts/{account}/outbox/{id}/retry";

    let responses = operation.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    let mut add = |status: u16, description: &str| {
        responses.entry(status.to_string()).or_insert_with(|| json!({ "description": description }));
    };
    if has_body || has_query || if_match {
        add(
            400,
            "The request is malformed: a body that is not JSON, an unknown field or parameter, a wrong type, a cursor this server did not give out",
        );
    }
    if secured {
        add(401, "No valid bearer token or session");
        add(403, "The caller lacks the permission, or the account's access rules refuse the address");
    }
    if path.contains('{') {
        add(404, "No such account or item, or one the caller does not see");
    }
    if writes_in_account {
        add(409, "Conflicts with what is stored: a value already taken, the account's last admin, a built-in role");
    }
    if if_match {
        add(412, "The resource changed since the ETag sent in If-Match was read");
        add(428, "If-Match is required");
    }
    if has_body {
        add(413, "The body is too large");
        add(415, "The body is not sent with the content type this route takes");
    }
    if has_body || has_query {
        add(422, "A field or parameter is not valid; `errors` names each");
    }
    for (status, response) in responses.iter_mut() {
        if status.as_str() >= "400" {
            response["content"] = json!({ PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/Problem" } } });
        }
        if status == "201" && (method == "post" || method == "put") {
            response["headers"]["Location"] = json!({
                "description": "Where the created resource can be read",
                "schema": { "type": "string" },
            });
        }
    }
}

/// A 64-bit integer states its range, so that no client sends a number the server cannot read.
fn bound_integers(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if object.get("type") == Some(&json!("integer")) && object.get("format") == Some(&json!("int64")) {
                object.entry("minimum").or_insert(json!(i64::MIN));
                object.entry("maximum").or_insert(json!(i64::MAX));
            }
            object.values_mut().for_each(bound_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// An enum serde reads externally tagged (`{"ids": […]}` or `"all"`) has object variants of exactly
/// one key: another key beside it is refused, so the document says so.
fn close_tagged_variants(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(variants) = object.get_mut("oneOf").and_then(Value::as_array_mut) {
                for variant in variants {
                    let single_key = variant["properties"].as_object().is_some_and(|p| p.len() == 1)
                        && variant["required"].as_array().is_some_and(|r| r.len() == 1);
                    if single_key && let Some(variant) = variant.as_object_mut() {
                        variant.entry("additionalProperties").or_insert(json!(false));
                    }
                }
            }
            object.values_mut().for_each(close_tagged_variants);
        }
        Value::Array(items) => items.iter_mut().for_each(close_tagged_variants),
        _ => {}
    }
}

/// Replaces a shared body schema by this route's copy: `required` added, `refused` removed.
fn shape_request(operation: &mut Map<String, Value>, shape: &RequestShape, schemas: &Value) {
    let Some(body) = operation.get_mut("requestBody").and_then(|b| b.pointer_mut("/content/application~1json/schema"))
    else {
        return;
    };
    let Some(name) = body.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
    else {
        return;
    };
    let mut schema = schemas[name].clone();
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for field in shape.refused {
            properties.remove(*field);
        }
        // A required field takes a value: `null` is not one.
        for field in shape.required {
            if let Some(types) =
                properties.get_mut(*field).and_then(|p| p.get_mut("type")).and_then(Value::as_array_mut)
            {
                types.retain(|t| t != "null");
            }
        }
    }
    let mut required: Vec<Value> = schema["required"].as_array().cloned().unwrap_or_default();
    required.retain(|f| !shape.refused.iter().any(|r| f == r));
    for field in shape.required {
        if !required.iter().any(|f| f == field) {
            required.push(json!(field));
        }
    }
    if let Some(object) = schema.as_object_mut() {
        if required.is_empty() {
            object.remove("required");
        } else {
            object.insert("required".into(), Value::Array(required));
        }
    }
    *body = schema;
}
