//! An effective set of rules, compiled for the per-request check: spans of addresses and
//! country codes, no text. `None` stands for "no rules", so an account without rules costs
//! nothing per request.
//!
//! Semantics: a deny (network or country) refuses; if there is any allow rule, the address
//! must match one of them — an allowed network or an allowed country. An address whose
//! country is unknown matches no country rule.

use std::net::IpAddr;
use std::sync::Arc;

use crate::domain::access_rules::{Action, Mode, Rule, Span, Value};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Policy {
    deny: Vec<Span>,
    allow: Vec<Span>,
    deny_countries: Vec<String>,
    allow_countries: Vec<String>,
}

impl Policy {
    /// The rules in force for a user: the account's, the user's, or both, by `mode`.
    pub fn effective(mode: Mode, account: &[Rule], user: &[Rule]) -> Option<Arc<Policy>> {
        let mut policy = Policy::default();
        let sets: [&[Rule]; 2] =
            [if mode.uses_account() { account } else { &[] }, if mode.uses_user() { user } else { &[] }];
        for rule in sets.into_iter().flatten() {
            match (&rule.value, rule.action) {
                (Value::Country(c), Action::Allow) => policy.allow_countries.push(c.clone()),
                (Value::Country(c), Action::Deny) => policy.deny_countries.push(c.clone()),
                (v, action) => {
                    let span = v.span().expect("a network rule has a span");
                    match action {
                        Action::Allow => policy.allow.push(span),
                        Action::Deny => policy.deny.push(span),
                    }
                }
            }
        }
        (!policy.is_empty()).then(|| Arc::new(policy))
    }

    fn is_empty(&self) -> bool {
        self.deny.is_empty()
            && self.allow.is_empty()
            && self.deny_countries.is_empty()
            && self.allow_countries.is_empty()
    }

    pub fn uses_countries(&self) -> bool {
        !self.deny_countries.is_empty() || !self.allow_countries.is_empty()
    }

    /// Whether `ip` may be used; `country` is asked only when a country rule needs it.
    pub fn permits(&self, ip: IpAddr, country: impl FnOnce(IpAddr) -> Option<String>) -> bool {
        if self.deny.iter().any(|s| s.contains(ip)) {
            return false;
        }
        let country = match self.uses_countries() {
            true => country(ip),
            false => None,
        };
        if let Some(c) = &country
            && self.deny_countries.contains(c)
        {
            return false;
        }
        if self.allow.is_empty() && self.allow_countries.is_empty() {
            return true;
        }
        self.allow.iter().any(|s| s.contains(ip)) || country.is_some_and(|c| self.allow_countries.contains(&c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access_rules::{RuleInput, parse_list};

    fn rules(list: &[(&str, &str)]) -> Vec<Rule> {
        let inputs: Vec<_> = list
            .iter()
            .map(|(a, v)| RuleInput { action: a.to_string(), value: v.to_string(), description: None })
            .collect();
        parse_list("rules", &inputs).unwrap()
    }

    fn geo(ip: IpAddr) -> Option<String> {
        match ip.to_string().as_str() {
            s if s.starts_with("81.2.69.") => Some("GB".into()),
            s if s.starts_with("2001:db8:") => Some("DE".into()),
            _ => None,
        }
    }

    fn permits(p: &Option<Arc<Policy>>, ip: &str) -> bool {
        p.as_ref().is_none_or(|p| p.permits(ip.parse().unwrap(), geo))
    }

    #[test]
    fn no_rules_is_no_policy() {
        assert!(Policy::effective(Mode::Inherit, &[], &rules(&[("deny", "10.0.0.1")])).is_none());
    }

    #[test]
    fn deny_wins_and_allow_rules_make_a_list_of_the_only_places_allowed() {
        let p = Policy::effective(
            Mode::Inherit,
            &rules(&[("allow", "10.0.0.0/8"), ("deny", "10.9.9.9"), ("allow", "GB")]),
            &[],
        );
        assert!(permits(&p, "10.1.2.3"));
        assert!(!permits(&p, "10.9.9.9"));
        assert!(permits(&p, "81.2.69.160"), "an allowed country is an allowed place too");
        assert!(!permits(&p, "192.0.2.1"));
        assert!(!permits(&p, "2001:db8::1"), "DE is not allowed");
        assert!(permits(&p, "::ffff:10.0.0.1"), "a mapped IPv4 address is that IPv4 address");
    }

    #[test]
    fn denied_countries_refuse_and_unknown_countries_pass_a_deny_list() {
        let p = Policy::effective(Mode::Inherit, &rules(&[("deny", "DE")]), &[]);
        assert!(!permits(&p, "2001:db8::5"));
        assert!(permits(&p, "192.0.2.1"));
        let allow = Policy::effective(Mode::Inherit, &rules(&[("allow", "DE")]), &[]);
        assert!(!permits(&allow, "192.0.2.1"), "an unknown country is not an allowed one");
    }

    #[test]
    fn modes_choose_whose_rules_apply() {
        let account = rules(&[("deny", "192.0.2.0/24")]);
        let user = rules(&[("deny", "198.51.100.7")]);
        let inherit = Policy::effective(Mode::Inherit, &account, &user);
        assert!(!permits(&inherit, "192.0.2.1") && permits(&inherit, "198.51.100.7"));
        let extend = Policy::effective(Mode::Extend, &account, &user);
        assert!(!permits(&extend, "192.0.2.1") && !permits(&extend, "198.51.100.7"));
        let overwrite = Policy::effective(Mode::Overwrite, &account, &user);
        assert!(permits(&overwrite, "192.0.2.1") && !permits(&overwrite, "198.51.100.7"));
    }
}
