//! The common-password list (NIST SP 800-63B 3.1.1.2: refuse passwords found in lists of
//! commonly used or compromised values). `assets/common-passwords.txt` (sources and licences
//! in `assets/common-passwords.LICENSE.md`) is compiled by `build.rs` into an fst set and
//! embedded here, so the check needs no file or network at run time.

use std::sync::LazyLock;

use fst::Set;

static FST_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/common-passwords.fst"));

static COMMON: LazyLock<Set<&'static [u8]>> =
    LazyLock::new(|| Set::new(FST_BYTES).expect("build.rs writes a valid fst"));

/// Whether `password` is on the list.
///
/// The comparison ignores case and surrounding whitespace, as Django's
/// CommonPasswordValidator does: "Dragon " is as guessable as "dragon", since attackers try
/// capitalised and padded variants first. The list is stored in that same form (lowercase,
/// trimmed). Nothing else is folded: "dr4gon" is only common if it is listed itself.
pub fn is_common(password: &str) -> bool {
    COMMON.contains(normalize(password))
}

/// How many passwords the list holds.
pub fn count() -> usize {
    COMMON.len()
}

/// The form both the list and a candidate are compared in.
fn normalize(password: &str) -> String {
    password.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_passwords_are_common() {
        for pw in ["123456", "password", "qwerty", "dragon", "iloveyou", "trustno1", "letmein"] {
            assert!(is_common(pw), "{pw}");
        }
    }

    #[test]
    fn case_and_surrounding_space_are_ignored() {
        assert!(is_common("PassWord"));
        assert!(is_common("  Dragon\t"));
        assert!(is_common("QWERTY"));
    }

    #[test]
    fn strong_or_empty_passwords_are_not_common() {
        assert!(!is_common("correct horse battery staple"));
        assert!(!is_common("vT7#qLm2!xZr9"));
        assert!(!is_common(""));
        assert!(!is_common("   "));
    }

    #[test]
    fn the_list_holds_at_least_the_top_hundred_thousand() {
        assert!(count() >= 100_000, "only {} passwords", count());
    }

    /// The asset must already be in the compared form, or its mixed-case lines could never
    /// match; build.rs has checked the order, this checks the form.
    #[test]
    fn every_listed_password_is_stored_normalized() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/common-passwords.txt")).unwrap();
        let mut lines = 0;
        for line in text.lines() {
            assert_eq!(line, normalize(line), "line {line:?} is not lowercase and trimmed");
            assert!(!line.is_empty());
            lines += 1;
        }
        assert_eq!(lines, count());
    }
}
