//! Access rules (R35) as parsed values: an address, a range, a CIDR block or a country, to
//! allow or deny, with a description. A list is parsed whole and every refusal names its
//! rule by index (`rules[3].value`), so a form can show each error next to its row.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::countries;
use super::issues::{FieldIssue, Issues};
use crate::domain::Invalid;

pub const MAX_DESCRIPTION: usize = 200;
/// A list longer than this is a mistake (or an attempt to make every request slow).
pub const MAX_RULES: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Deny,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
        }
    }

    pub fn parse(s: &str) -> Result<Action, Invalid> {
        match s.trim().to_ascii_lowercase().as_str() {
            "allow" => Ok(Action::Allow),
            "deny" => Ok(Action::Deny),
            "" => Err(Invalid::required()),
            _ => Err(Invalid::new("invalid_action", "must be allow or deny")),
        }
    }
}

/// How a user's own rules combine with the account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The account's rules only (a user's own rules are kept but not applied).
    #[default]
    Inherit,
    /// The account's rules and the user's.
    Extend,
    /// The user's rules only.
    Overwrite,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Inherit => "inherit",
            Mode::Extend => "extend",
            Mode::Overwrite => "overwrite",
        }
    }

    pub fn parse(s: &str) -> Result<Mode, Invalid> {
        match s {
            "inherit" => Ok(Mode::Inherit),
            "extend" => Ok(Mode::Extend),
            "overwrite" => Ok(Mode::Overwrite),
            _ => Err(Invalid::new("invalid_mode", "must be inherit, extend or overwrite")),
        }
    }

    pub fn uses_account(self) -> bool {
        self != Mode::Overwrite
    }

    pub fn uses_user(self) -> bool {
        self != Mode::Inherit
    }
}

/// What a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Address(IpAddr),
    /// Both ends included, same family, first ≤ last.
    Range(IpAddr, IpAddr),
    Network(IpNet),
    /// ISO 3166-1 alpha-2, upper case.
    Country(String),
}

impl Value {
    /// Parses what a person types: `192.0.2.7`, `2001:db8::1`, `192.0.2.10-192.0.2.20`,
    /// `192.0.2.0/24`, `2001:db8::/32`, or a country code such as `GB`.
    pub fn parse(input: &str) -> Result<Value, Invalid> {
        let s = input.trim();
        if s.is_empty() {
            return Err(Invalid::required());
        }
        if s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()) {
            let code = s.to_ascii_uppercase();
            return match countries::is_assigned(&code) {
                true => Ok(Value::Country(code)),
                false => {
                    Err(Invalid::new("invalid_country", format!("{code} is not an ISO 3166-1 alpha-2 country code")))
                }
            };
        }
        if let Some((first, last)) = s.split_once('-') {
            let (Ok(first), Ok(last)) = (first.trim().parse::<IpAddr>(), last.trim().parse::<IpAddr>()) else {
                return Err(Invalid::new(
                    "invalid_range",
                    "a range is two addresses joined by '-', e.g. 192.0.2.10-192.0.2.20",
                ));
            };
            if first.is_ipv4() != last.is_ipv4() {
                return Err(Invalid::new("mixed_families", "a range must have two IPv4 or two IPv6 addresses"));
            }
            if bounds(first).0 > bounds(last).0 {
                return Err(Invalid::new(
                    "reversed_range",
                    format!("the range starts after it ends; did you mean {last}-{first}?"),
                ));
            }
            return Ok(Value::Range(first, last));
        }
        if s.contains('/') {
            let net: IpNet = s.parse().map_err(|_| {
                Invalid::new(
                    "invalid_cidr",
                    "is not a CIDR block: an address, '/', and a prefix length (at most 32 for IPv4, 128 for IPv6)",
                )
            })?;
            // A block with host bits set is almost always a typo for another block: say which.
            if net.addr() != net.network() {
                return Err(Invalid::new(
                    "host_bits_set",
                    format!("has bits set after the /{} prefix; the block is {}", net.prefix_len(), net.trunc()),
                ));
            }
            return Ok(Value::Network(net));
        }
        s.parse::<IpAddr>().map(Value::Address).map_err(|_| {
            Invalid::new(
                "invalid_value",
                "is not an IP address, range (a-b), CIDR block (a/n) or two-letter country code",
            )
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Value::Address(_) => "address",
            Value::Range(..) => "range",
            Value::Network(_) => "network",
            Value::Country(_) => "country",
        }
    }

    /// The canonical text, as stored and shown.
    pub fn text(&self) -> String {
        match self {
            Value::Address(a) => a.to_string(),
            Value::Range(a, b) => format!("{a}-{b}"),
            Value::Network(n) => n.to_string(),
            Value::Country(c) => c.clone(),
        }
    }

    /// The addresses matched, as an inclusive span of one family; `None` for a country.
    pub fn span(&self) -> Option<Span> {
        match self {
            Value::Address(a) => Some(Span::new(*a, *a)),
            Value::Range(a, b) => Some(Span::new(*a, *b)),
            Value::Network(n) => Some(Span::new(n.network(), n.broadcast())),
            Value::Country(_) => None,
        }
    }
}

/// An inclusive span of addresses of one family, as integers (IPv4 in the low 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub v6: bool,
    pub first: u128,
    pub last: u128,
}

impl Span {
    fn new(first: IpAddr, last: IpAddr) -> Span {
        let raw = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), false),
            IpAddr::V6(v6) => (u128::from(v6), true),
        };
        let (a, v6) = raw(first);
        Span { v6, first: a, last: raw(last).0 }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (n, v6) = bounds(ip);
        v6 == self.v6 && self.first <= n && n <= self.last
    }

    pub fn overlaps(&self, other: &Span) -> bool {
        self.v6 == other.v6 && self.first <= other.last && other.first <= self.last
    }
}

/// A client's address as an integer and whether it is IPv6. An IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`, as a dual-stack socket reports IPv4 peers) counts as the IPv4 one.
pub fn bounds(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), false),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), false),
            None => (u128::from(v6), true),
        },
    }
}

/// One rule as sent and shown by the API.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// `allow` or `deny`.
    pub action: String,
    /// An address, a range `a-b`, a CIDR block `a/n`, or an ISO 3166-1 alpha-2 country code.
    pub value: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub action: Action,
    pub value: Value,
    pub description: String,
}

impl Rule {
    pub fn view(&self) -> RuleView {
        RuleView {
            action: self.action,
            kind: self.value.kind(),
            value: self.value.text(),
            description: self.description.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub action: Action,
    /// `address`, `range`, `network` or `country`.
    pub kind: &'static str,
    pub value: String,
    pub description: String,
}

/// Parses a whole list; `field` is the list's name in the request (`rules`).
pub fn parse_list(field: &str, inputs: &[RuleInput]) -> Result<Vec<Rule>, Vec<FieldIssue>> {
    let mut issues = Issues::new();
    if inputs.len() > MAX_RULES {
        issues.add(field, "too_many", format!("at most {MAX_RULES} rules"));
        return Err(issues.into_issues());
    }
    let mut rules = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let at = |part: &str| format!("{field}[{i}].{part}");
        let action = issues.check(&at("action"), Action::parse(&input.action));
        let value = issues.check(&at("value"), Value::parse(&input.value));
        let description = input.description.as_deref().unwrap_or("").trim().to_string();
        if description.chars().count() > MAX_DESCRIPTION {
            issues.check::<()>(&at("description"), Err(Invalid::too_long(MAX_DESCRIPTION)));
        } else if description.chars().any(char::is_control) {
            issues.add(&at("description"), "invalid_characters", "must not contain control characters");
        }
        if let (Some(action), Some(value)) = (action, value) {
            rules.push(Rule { action, value, description });
        }
    }
    if issues.is_empty() { Ok(rules) } else { Err(issues.into_issues()) }
}

/// A rule with where it came from, for conflict messages (`rules[2]`, `account rules[0]`).
pub struct Labelled<'a> {
    pub label: String,
    pub rule: &'a Rule,
}

/// Refuses an effective set where an allow and a deny rule overlap (or name the same
/// country), or a rule repeats another. Only pairs with at least one rule from `checked`
/// are reported: rules already saved elsewhere are not the caller's to fix.
pub fn conflicts(rules: &[Labelled<'_>], checked: impl Fn(&Labelled<'_>) -> bool) -> Vec<FieldIssue> {
    let mut issues = Vec::new();
    for (i, a) in rules.iter().enumerate() {
        for b in &rules[i + 1..] {
            if !checked(a) && !checked(b) {
                continue;
            }
            let (x, y) = (&a.rule, &b.rule);
            let overlap = match (&x.value, &y.value) {
                (Value::Country(p), Value::Country(q)) => p == q,
                (p, q) => matches!((p.span(), q.span()), (Some(s), Some(t)) if s.overlaps(&t)),
            };
            if !overlap {
                continue;
            }
            let field = if checked(b) { format!("{}.value", b.label) } else { format!("{}.value", a.label) };
            if x.action != y.action {
                issues.push(FieldIssue::new(
                    field,
                    "overlapping_rules",
                    format!(
                        "{} ({} {}) and {} ({} {}) overlap: an address cannot be both allowed and denied",
                        a.label,
                        x.action.as_str(),
                        x.value.text(),
                        b.label,
                        y.action.as_str(),
                        y.value.text()
                    ),
                ));
            } else if x.value == y.value {
                issues.push(FieldIssue::new(
                    field,
                    "duplicate_rule",
                    format!("{} repeats {} ({} {})", b.label, a.label, x.action.as_str(), x.value.text()),
                ));
            }
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(action: &str, value: &str) -> RuleInput {
        RuleInput { action: action.into(), value: value.into(), description: None }
    }

    #[test]
    fn values_of_each_kind_parse_to_their_canonical_text() {
        for (typed, kind, text) in [
            ("192.0.2.7", "address", "192.0.2.7"),
            (" 2001:DB8::1 ", "address", "2001:db8::1"),
            ("192.0.2.10 - 192.0.2.20", "range", "192.0.2.10-192.0.2.20"),
            ("10.0.0.0/8", "network", "10.0.0.0/8"),
            ("2001:db8::/32", "network", "2001:db8::/32"),
            ("gb", "country", "GB"),
        ] {
            let v = Value::parse(typed).unwrap();
            assert_eq!((v.kind(), v.text().as_str()), (kind, text), "{typed}");
        }
    }

    #[test]
    fn malformed_values_are_refused_with_a_reason() {
        for (typed, code) in [
            ("", "required"),
            ("10.0.0.1/33", "invalid_cidr"),
            ("10.0.0/8", "invalid_cidr"),
            ("10.1.2.3/8", "host_bits_set"),
            ("10.0.0.9-10.0.0.1", "reversed_range"),
            ("10.0.0.1-2001:db8::1", "mixed_families"),
            ("10.0.0.1-x", "invalid_range"),
            ("XX", "invalid_country"),
            ("GBR", "invalid_value"),
            ("300.1.1.1", "invalid_value"),
        ] {
            assert_eq!(Value::parse(typed).unwrap_err().code, code, "{typed}");
        }
        assert!(Value::parse("10.1.2.3/8").unwrap_err().message.contains("10.0.0.0/8"));
    }

    #[test]
    fn issues_name_each_rule_by_index() {
        let err = parse_list("rules", &[input("allow", "10.0.0.0/8"), input("maybe", "1.2.3.4/40")]).unwrap_err();
        let fields: Vec<_> = err.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["rules[1].action", "rules[1].value"]);
        let long = RuleInput { description: Some("x".repeat(201)), ..input("deny", "GB") };
        assert_eq!(parse_list("rules", &[long]).unwrap_err()[0].code, "too_long");
    }

    #[test]
    fn overlapping_allow_and_deny_and_duplicates_are_conflicts() {
        let rules = parse_list(
            "rules",
            &[
                input("allow", "10.0.0.0/8"),
                input("deny", "10.1.0.0-10.1.0.9"),
                input("allow", "10.0.0.0/8"),
                input("allow", "DE"),
                input("deny", "de"),
            ],
        )
        .unwrap();
        let labelled: Vec<_> =
            rules.iter().enumerate().map(|(i, r)| Labelled { label: format!("rules[{i}]"), rule: r }).collect();
        let codes: Vec<_> = conflicts(&labelled, |_| true).into_iter().map(|i| (i.field, i.code)).collect();
        assert_eq!(
            codes,
            [
                ("rules[1].value".to_string(), "overlapping_rules".to_string()),
                ("rules[2].value".into(), "duplicate_rule".into()),
                ("rules[2].value".into(), "overlapping_rules".into()),
                ("rules[4].value".into(), "overlapping_rules".into()),
            ]
        );
        let v4 = parse_list("r", &[input("allow", "0.0.0.0/0"), input("deny", "::/0")]).unwrap();
        let l: Vec<_> = v4.iter().map(|r| Labelled { label: "x".into(), rule: r }).collect();
        assert!(conflicts(&l, |_| true).is_empty(), "IPv4 and IPv6 spans never overlap");
    }

    #[test]
    fn mapped_ipv4_addresses_match_ipv4_spans() {
        let span = Value::parse("192.0.2.0/24").unwrap().span().unwrap();
        assert!(span.contains("::ffff:192.0.2.9".parse().unwrap()));
        assert!(!span.contains("192.0.3.1".parse().unwrap()));
    }
}
