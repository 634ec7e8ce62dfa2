//! Dial rules (R38): destination patterns a rule set allows or denies, in the notation PBX admins
//! know from Asterisk: digits, `*`, `#` and `+` match themselves; `X` any digit, `Z` 1–9, `N`
//! 2–9; `[15-7]` one of a set; a final `.` one or more characters more, a final `!` zero or
//! more (`_.` and `_!` alone match any number); `-` is ignored, for reading (`_NXX-XXXX`). One
//! leading `_` (Asterisk's marker) is accepted and dropped; unlike Asterisk, a pattern without
//! it is a pattern too. The first rule that matches a number decides; a number no rule matches
//! is denied.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Issues;

pub const MOST_RULES: usize = 100;
const LONGEST: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    Allow,
    Deny,
}

/// One rule as the API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DialRule {
    /// E.g. `_00X.` (international), `_0[1-9]X.` (national), `_1XX` (three-digit internal).
    #[schema(min_length = 1, max_length = 41)]
    pub pattern: String,
    pub action: RuleAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Exact(char),
    /// Digits (as bytes `b'0'..=b'9'`) this position takes.
    Digits(Vec<u8>),
}

/// A checked pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
    /// `.`: one or more characters may follow; `!`: zero or more.
    tail: Option<usize>,
    text: String,
}

impl Pattern {
    /// The pattern, or why not.
    pub fn parse(input: &str) -> Result<Pattern, String> {
        let trimmed = input.trim();
        let text = trimmed.strip_prefix('_').unwrap_or(trimmed).to_uppercase();
        if text.is_empty() {
            return Err("a pattern needs at least one character".into());
        }
        if text.chars().count() > LONGEST {
            return Err(format!("a pattern is at most {LONGEST} characters"));
        }
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::new();
        let mut tail = None;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '0'..='9' | '*' | '#' | '+' => tokens.push(Token::Exact(c)),
                '-' => {}
                'X' => tokens.push(Token::Digits((b'0'..=b'9').collect())),
                'Z' => tokens.push(Token::Digits((b'1'..=b'9').collect())),
                'N' => tokens.push(Token::Digits((b'2'..=b'9').collect())),
                '.' | '!' => {
                    if i != chars.len() - 1 {
                        return Err(format!("{c:?} may only end a pattern"));
                    }
                    tail = Some(if c == '.' { 1 } else { 0 });
                }
                '[' => {
                    let Some(close) = chars[i..].iter().position(|c| *c == ']').map(|p| p + i) else {
                        return Err("a '[' is not closed by ']'".into());
                    };
                    tokens.push(Token::Digits(set(&chars[i + 1..close])?));
                    i = close;
                }
                other => {
                    return Err(format!(
                        "{other:?} is not part of a dial pattern (digits, * # +, X Z N, [1-5], a final . or !)"
                    ));
                }
            }
            i += 1;
        }
        if tokens.is_empty() && tail.is_none() {
            return Err("a pattern needs at least one digit or class".into());
        }
        Ok(Pattern { tokens, tail, text: input.trim().to_string() })
    }

    /// Whether the whole `number` matches.
    pub fn matches(&self, number: &str) -> bool {
        let chars: Vec<char> = number.chars().collect();
        if chars.len() < self.tokens.len() {
            return false;
        }
        let fits = self.tokens.iter().zip(&chars).all(|(t, c)| match t {
            Token::Exact(e) => e == c,
            Token::Digits(set) => c.is_ascii_digit() && set.contains(&(*c as u8)),
        });
        let rest = chars.len() - self.tokens.len();
        fits && match self.tail {
            None => rest == 0,
            Some(at_least) => rest >= at_least,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The digits of a `[…]` class: digits and ranges `a-b`.
fn set(inside: &[char]) -> Result<Vec<u8>, String> {
    if inside.is_empty() {
        return Err("'[]' holds no digits".into());
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < inside.len() {
        let c = inside[i];
        if !c.is_ascii_digit() {
            return Err(format!("{c:?} cannot be inside [ ]: only digits and ranges such as 1-5"));
        }
        if inside.get(i + 1) == Some(&'-') {
            let Some(end) = inside.get(i + 2).filter(|e| e.is_ascii_digit()) else {
                return Err("a range inside [ ] is written as 1-5".into());
            };
            if *end < c {
                return Err(format!("the range {c}-{end} runs backwards"));
            }
            out.extend(c as u8..=*end as u8);
            i += 3;
        } else {
            out.push(c as u8);
            i += 1;
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A rule set, checked: every pattern parsed, each fault named `rules[2].pattern`.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<(Pattern, RuleAction)>,
}

impl RuleSet {
    pub fn parse(issues: &mut Issues, rules: &[DialRule]) -> Option<RuleSet> {
        let before = issues.len();
        if rules.len() > MOST_RULES {
            issues.add("rules", "too_many", format!("at most {MOST_RULES} rules"));
        }
        let mut out = Vec::new();
        for (i, r) in rules.iter().enumerate().take(MOST_RULES) {
            match Pattern::parse(&r.pattern) {
                Ok(p) => out.push((p, r.action)),
                Err(why) => issues.add(
                    &format!("rules[{i}].pattern"),
                    "invalid_pattern",
                    format!("{:?} is not a dial pattern: {why}", r.pattern),
                ),
            }
        }
        (issues.len() == before).then_some(RuleSet { rules: out })
    }

    /// The first matching rule's action; a number none matches is denied.
    pub fn decide(&self, number: &str) -> RuleAction {
        self.rules.iter().find(|(p, _)| p.matches(number)).map_or(RuleAction::Deny, |(_, a)| *a)
    }

    pub fn rules(&self) -> Vec<DialRule> {
        self.rules.iter().map(|(p, a)| DialRule { pattern: p.as_str().to_string(), action: *a }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Pattern {
        Pattern::parse(text).unwrap()
    }

    #[test]
    fn classes_and_tails_match_as_asterisk_does() {
        assert!(p("_1XX").matches("123"));
        assert!(!p("_1XX").matches("1234"), "no tail: exactly three");
        assert!(!p("_1XX").matches("12"));
        assert!(p("_NXXNXXXXXX").matches("2125551234"));
        assert!(!p("_NXXNXXXXXX").matches("1125551234"), "N is 2-9");
        assert!(p("_00X.").matches("004930123"));
        assert!(!p("_00X.").matches("004"), "a final . needs one more");
        assert!(p("_00X!").matches("004"), "a final ! needs none");
        assert!(p("_[15-7]").matches("6"));
        assert!(!p("_[15-7]").matches("4"));
        assert!(p("+49Z.").matches("+4930123"));
        assert!(p("*72").matches("*72"));
        assert!(p("_zxx").matches("199"), "classes in lower case too");
        assert!(p("_NXX-XXXX").matches("5551234"), "- is for reading");
        assert!(p("_.").matches("0049301234") && !p("_.").matches(""), "a catch-all");
        assert!(p("_!").matches(""));
    }

    #[test]
    fn bad_patterns_say_why() {
        for (bad, why) in [
            ("", "at least one"),
            ("_1.2", "may only end"),
            ("_1[2-", "not closed"),
            ("_[]", "no digits"),
            ("_[9-1]", "backwards"),
            ("_[a]", "cannot be inside"),
            ("_1Q", "not part of a dial pattern"),
            ("__1", "not part of a dial pattern"),
            ("_-", "at least one digit"),
        ] {
            let err = Pattern::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert!(Pattern::parse(&"1".repeat(41)).unwrap_err().contains("at most"));
    }

    #[test]
    fn the_first_matching_rule_decides_and_no_match_is_denied() {
        let rules = vec![
            DialRule { pattern: "_900X.".into(), action: RuleAction::Deny },
            DialRule { pattern: "_9X.".into(), action: RuleAction::Allow },
            DialRule { pattern: "_1XX".into(), action: RuleAction::Allow },
        ];
        let mut issues = Issues::new();
        let set = RuleSet::parse(&mut issues, &rules).unwrap();
        assert_eq!(set.decide("90012345"), RuleAction::Deny, "premium numbers first");
        assert_eq!(set.decide("912345"), RuleAction::Allow);
        assert_eq!(set.decide("101"), RuleAction::Allow);
        assert_eq!(set.decide("00441234"), RuleAction::Deny, "nothing matches");
        assert_eq!(set.rules(), rules);
    }

    #[test]
    fn each_bad_rule_is_named_by_its_place() {
        let rules = vec![
            DialRule { pattern: "_1XX".into(), action: RuleAction::Allow },
            DialRule { pattern: "_1Q".into(), action: RuleAction::Allow },
        ];
        let mut issues = Issues::new();
        assert!(RuleSet::parse(&mut issues, &rules).is_none());
        let found = issues.into_issues();
        assert_eq!(found[0].field, "rules[1].pattern");
        assert!(found[0].message.contains("\"_1Q\""), "{}", found[0].message);
    }
}
