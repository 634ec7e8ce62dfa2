//! The directory in FreeSWITCH's `mod_xml_curl` format: FreeSWITCH posts the form fields of its
//! directory lookups (section `directory`; `action=sip_auth` on REGISTER and INVITE, `user_call`
//! when a call is bridged to `user/…`) and takes an XML document back: the user with their
//! `a1-hash` and variables, or "not found". So a FreeSWITCH points at Roster unchanged
//! (`xml_curl.conf.xml`, docs/pbx-directory.md).

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::api::{Asker, no_store};
use super::service::{self, Answer, Entry};
use crate::error::{Error, Result};
use crate::state::AppState;

const XML: &str = "text/xml; charset=utf-8";

/// The fields of FreeSWITCH's request that the answer depends on. FreeSWITCH writes each once,
/// except in a few general events, where the last one counts (as FreeSWITCH reads them).
#[derive(Debug, Default)]
struct Request {
    section: Option<String>,
    domain: Option<String>,
    user: Option<String>,
    /// The realm and response of the phone's Authorization header (`action=sip_auth`):
    /// FreeSWITCH hashes with that realm, and a 64-digit response is SHA-256's (RFC 8760).
    auth_realm: Option<String>,
    auth_response: Option<String>,
}

impl Request {
    /// From the form's body: only the fields the answer depends on are kept (FreeSWITCH posts
    /// some forty, on every REGISTER).
    fn parse(body: &[u8]) -> Request {
        Request::of(url::form_urlencoded::parse(body).filter(|(name, _)| {
            matches!(
                name.as_ref(),
                "section" | "domain" | "user" | "sip_auth_realm" | "sip_auth_response" | "key_name" | "key_value"
            )
        }))
    }

    fn of<N: AsRef<str>, V: Into<String>>(fields: impl IntoIterator<Item = (N, V)>) -> Request {
        let mut r = Request::default();
        let mut key_value = None;
        let mut key_name = None;
        for (name, value) in fields {
            let value: String = value.into();
            match name.as_ref() {
                "section" => r.section = Some(value),
                "domain" => r.domain = Some(value),
                "user" => r.user = Some(value),
                "sip_auth_realm" => r.auth_realm = Some(value),
                "sip_auth_response" => r.auth_response = Some(value),
                "key_name" => key_name = Some(value),
                "key_value" => key_value = Some(value),
                _ => {}
            }
        }
        // A lookup of the domain alone names it in `key_value` (tag `domain`, key `name`).
        if r.domain.is_none() && key_name.as_deref() == Some("name") {
            r.domain = key_value;
        }
        r
    }
}

/// FreeSWITCH's directory lookup (`mod_xml_curl`, binding `directory`).
///
/// The form fields FreeSWITCH posts; the answer is `text/xml`. A user who may register: their
/// `a1-hash` (MD5, or SHA-256 when the phone answered with it) and call settings as variables.
/// A name nobody answers to, or a user who may not register now: the realm's domain without
/// users, which FreeSWITCH refuses (403) without falling back to its own files. A realm that is
/// not the token's, or a lookup of something else: FreeSWITCH's "not found". The token goes as
/// the password of HTTP Basic authentication (`gateway-credentials`) or as a bearer token.
#[utoipa::path(post, path = "/api/v1/directory/freeswitch", tag = "directory",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "FreeSWITCH's fields: `section=directory`, `domain` (the realm), `user`, `action`, `sip_auth_*`, …"),
    security(("bearer" = [])),
    responses((status = 200, content_type = "text/xml", body = String,
        description = "`<document type=\"freeswitch/xml\">` with the user, the realm's empty domain, or `<result status=\"not found\"/>`")))]
pub async fn directory(
    State(state): State<AppState>,
    asker: Asker,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let form = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !form.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(Error::UnsupportedMediaType(
            "send FreeSWITCH's fields as Content-Type: application/x-www-form-urlencoded".into(),
        ));
    }
    let request = Request::parse(&body);
    let (Some("directory"), Some(domain), Some(user)) = (request.section.as_deref(), &request.domain, &request.user)
    else {
        return Ok(not_found("not a user lookup"));
    };
    let Ok((realm, key)) = service::parse_question(Some(domain), Some(user), None) else {
        return Ok(not_found("not a realm and user name Roster can have"));
    };
    let caller = match asker.resolve(&state, &realm, &key).await? {
        Ok(caller) => caller,
        Err(refused) => return Ok(answer(&refused, &request, user)),
    };
    // `user/1001@domain` names a user by their extension when their SIP user name differs.
    let found = service::lookup_name_or_extension(&state, caller, &realm, key.name()).await?;
    Ok(answer(&found, &request, user))
}

fn answer(found: &Answer, request: &Request, asked: &str) -> Response {
    match found {
        Answer::Found { entry, refusal: None } => {
            if request.auth_realm.as_ref().is_some_and(|theirs| !theirs.eq_ignore_ascii_case(&entry.realm)) {
                let why = "the phone answered a challenge for another realm than the account's";
                return no_store(StatusCode::OK, XML, empty_domain(&entry.realm, why));
            }
            let sha256 = request.auth_response.as_ref().is_some_and(|r| r.len() == 64);
            let body = match (entry.sip_name.as_deref() == Some(asked), sha256) {
                (true, false) => entry.rendered.freeswitch.get_or_init(|| document(entry, asked, false).into()).clone(),
                _ => document(entry, asked, sha256).into(),
            };
            no_store(StatusCode::OK, XML, body)
        }
        Answer::Found { entry, refusal: Some(refusal) } => {
            no_store(StatusCode::OK, XML, empty_domain(&entry.realm, refusal.as_str()))
        }
        Answer::Refused { realm, refusal, .. } => no_store(StatusCode::OK, XML, empty_domain(realm, refusal.as_str())),
        Answer::Unknown("user") => {
            let realm = request.domain.as_deref().unwrap_or_default().to_ascii_lowercase();
            no_store(StatusCode::OK, XML, empty_domain(&realm, "unknown user"))
        }
        Answer::Unknown(_) => not_found("unknown realm"),
    }
}

/// FreeSWITCH's "not found", for what is not Roster's to answer: FreeSWITCH then asks its next
/// binding or its own files. `why` is a comment for whoever reads the exchange (FreeSWITCH
/// ignores it).
fn not_found(why: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<document type=\"freeswitch/xml\">\n  \
         {}\n  <section name=\"result\">\n    <result status=\"not found\"/>\n  </section>\n</document>\n",
        comment(why)
    );
    no_store(StatusCode::OK, XML, body)
}

/// The realm's domain without the user: FreeSWITCH finds the domain, not the user, and refuses
/// (403) without falling back to its own files, whose stock users would let a phone in.
fn empty_domain(realm: &str, why: &str) -> String {
    let mut x = String::with_capacity(512);
    open_domain(&mut x, realm);
    let _ = writeln!(x, "      {}", comment(why));
    x.push_str("    </domain>\n  </section>\n</document>\n");
    x
}

/// `why` is one of Roster's own sentences, never text from the request: a comment cannot
/// escape its characters, and FreeSWITCH's parser refuses one holding `--`.
fn comment(why: &str) -> String {
    format!("<!-- roster: {} -->", why.replace('-', " "))
}

/// The document's start, to the realm's domain and its params: the dial string `user/…` calls
/// need, and no registration without a credential (FreeSWITCH lets one in by default).
fn open_domain(x: &mut String, realm: &str) {
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<document type=\"freeswitch/xml\">\n  \
         <section name=\"directory\">\n    <domain name=\"{}\">\n      <params>\n        \
         <param name=\"dial-string\" value=\"{{^^:sip_invite_domain=${{dialed_domain}}:presence_id=${{dialed_user}}@${{dialed_domain}}}}${{sofia_contact(*/${{dialed_user}}@${{dialed_domain}})}}\"/>\n        \
         <param name=\"allow-empty-password\" value=\"false\"/>\n      </params>\n",
        escape(realm)
    );
}

/// The user's directory document: their digest, and their call settings as variables.
fn document(entry: &Entry, asked: &str, sha256: bool) -> String {
    let mut x = String::with_capacity(2048);
    open_domain(&mut x, &entry.realm);
    x.push_str("      <groups>\n        <group name=\"default\">\n          <users>\n");
    // The other name the user answers to, so that FreeSWITCH finds them by either.
    let alias = [entry.sip_name.as_deref(), entry.extension.as_deref()].into_iter().flatten().find(|n| *n != asked);
    let _ = write!(x, "            <user id=\"{}\"", escape(asked));
    if let Some(alias) = alias {
        let _ = write!(x, " number-alias=\"{}\"", escape(alias));
    }
    x.push_str(">\n              <params>\n");
    if let Some(ha1) = &entry.ha1 {
        param(&mut x, "a1-hash", if sha256 { &ha1.sha256 } else { &ha1.md5 });
    }
    x.push_str("              </params>\n              <variables>\n");
    let s = &entry.settings;
    let extension = entry.extension.as_deref().unwrap_or_default();
    variable(&mut x, "user_context", "default");
    variable(&mut x, "effective_caller_id_name", &entry.display_name);
    variable(&mut x, "effective_caller_id_number", extension);
    if let Some(caller_id) = &s.caller_id {
        variable(&mut x, "outbound_caller_id_name", &entry.display_name);
        variable(&mut x, "outbound_caller_id_number", caller_id);
    }
    if let Some(music) = &s.music_on_hold {
        variable(&mut x, "hold_music", &format!("local_stream://{}", music.name));
    }
    if !s.intercept.member_of.is_empty() {
        let groups: Vec<&str> = s.intercept.member_of.iter().map(|g| g.name.as_str()).collect();
        variable(&mut x, "callgroup", &groups.join(","));
    }
    variable(&mut x, "call_timeout", &s.no_answer_timeout.to_string());
    variable(&mut x, "roster_user_id", &entry.user.0.to_string());
    variable(&mut x, "roster_login", &entry.login);
    variable(&mut x, "roster_account", &entry.account_slug);
    variable(&mut x, "roster_max_calls", &s.max_calls.to_string());
    variable(&mut x, "roster_call_waiting", bool_text(s.call_waiting));
    variable(&mut x, "roster_record_calls", bool_text(s.record_calls));
    variable(&mut x, "roster_mask_number", s.mask_number.as_str());
    variable(&mut x, "roster_blf", &s.blf.join(","));
    if let Some(rules) = &s.dial_rules {
        variable(&mut x, "roster_dial_rules", &rules.name);
    }
    let picks_up: Vec<&str> = s.intercept.picks_up.iter().map(|g| g.name.as_str()).collect();
    variable(&mut x, "roster_picks_up", &picks_up.join(","));
    x.push_str(
        "              </variables>\n            </user>\n          </users>\n        </group>\n      </groups>\n    \
         </domain>\n  </section>\n</document>\n",
    );
    x
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn param(x: &mut String, name: &str, value: &str) {
    let _ = writeln!(x, "                <param name=\"{name}\" value=\"{}\"/>", escape(value));
}

fn variable(x: &mut String, name: &str, value: &str) {
    let _ = writeln!(x, "                <variable name=\"{name}\" value=\"{}\"/>", escape(value));
}

/// Text as an XML attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // FreeSWITCH's pre-processor expands `$${…}` in what it reads.
            '$' => out.push_str("&#36;"),
            // … and drops any line holding `X-PRE-PROCESS`, which a SIP user name may spell.
            '-' => out.push_str("&#45;"),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_request_names_the_realm_and_user() {
        let body = include_str!("../../tests/fixtures/freeswitch/directory_sip_auth.txt");
        let r = Request::parse(body.trim().as_bytes());
        assert_eq!(r.section.as_deref(), Some("directory"));
        assert_eq!(r.domain.as_deref(), Some("domain1.awesomevoipdomain.faketld"));
        assert_eq!(r.user.as_deref(), Some("1004"));
    }

    #[test]
    fn a_domain_alone_is_named_by_key_value_and_the_last_field_counts() {
        let r = Request::parse(b"section=directory&key_name=name&key_value=acme&user=1&Event-Name=GENERAL&user=2");
        assert_eq!((r.domain.as_deref(), r.user.as_deref()), (Some("acme"), Some("2")));
    }

    #[test]
    fn values_are_escaped_as_attributes() {
        assert_eq!(escape(r#"A&B <"x"> 'y'"#), "A&amp;B &lt;&quot;x&quot;&gt; &apos;y&apos;");
        assert_eq!(escape("a\nb"), "a b");
        assert_eq!(escape("$${default_password}"), "&#36;&#36;{default_password}");
        assert_eq!(escape("x-pre-process"), "x&#45;pre&#45;process");
        assert_eq!(comment("a -- b"), "<!-- roster: a    b -->");
    }
}
