//! The layers of `src/` (docs/architecture.md), checked: every top-level module may use only
//! the modules listed before it in `ORDER`, so the module graph has no cycles, and a few
//! modules have a narrower allowance still. A module that reaches upwards fails this test with
//! the file and the path it used.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. Foundation, then infrastructure, then who is behind a request, then the
/// capabilities in the order they build on each other, then the surfaces.
const ORDER: &[&str] = &[
    // Foundation: values, records and errors, no I/O.
    "clock",
    "ids",
    "domain",
    "model",
    "error",
    // Infrastructure: HTTP plumbing, the database, keys, configuration, mail transport, the
    // context every service receives.
    "http",
    "store",
    "secrets",
    "config",
    "mail",
    "state",
    // Who is behind a request and what they may reach.
    "access",
    "auth",
    // Capabilities: rules (`service.rs`) and routes (`api.rs`).
    "activity",
    "sessions",
    "tokens",
    "outbox",
    "captcha",
    "passwords",
    "catalog",
    "access_rules",
    "second_factor",
    "sign_in",
    "users",
    "me",
    "accounts",
    // Surfaces: the console's pages, the server's assembly, the command line.
    "console",
    "startup",
    "cli",
];

/// Modules that may use less than everything below them.
const NARROWER: &[(&str, &[&str])] = &[
    ("model", &["clock", "domain", "ids"]),
    ("error", &["domain"]),
    ("store", &["clock", "ids", "domain", "model", "error"]),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/users/api.rs` → `users`).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src_dir()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Unit tests may reach anywhere; they are cut off at `#[cfg(test)]`.
fn without_unit_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    }
}

fn ident_at(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// Every top-level module named by a `crate::` path, with `use crate::{a, b::c}` groups.
fn used_modules(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find(';').unwrap_or(group.len())];
            let mut depth = 0;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_ascii_alphabetic() || c == '_') => {
                        used.insert(ident_at(&group[j..]).to_string());
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident_at(rest);
            if !name.is_empty() {
                used.insert(name.to_string());
            }
        }
    }
    used
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let rank: BTreeMap<&str, usize> = ORDER.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let narrower: BTreeMap<&str, &[&str]> = NARROWER.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for file in &files {
        let Some(module) = module_of(file) else { continue };
        let Some(&own_rank) = rank.get(module.as_str()) else {
            problems.push(format!("{}: module `{module}` is not placed in ORDER (tests/architecture.rs)", file.display()));
            continue;
        };
        seen.insert(module.clone());
        let text = std::fs::read_to_string(file).expect("source file is readable");
        for used in used_modules(without_unit_tests(&text)) {
            if used == module {
                continue;
            }
            let Some(&used_rank) = rank.get(used.as_str()) else { continue };
            let allowed = match narrower.get(module.as_str()) {
                Some(list) => list.contains(&used.as_str()),
                None => used_rank < own_rank,
            };
            if !allowed {
                problems.push(format!("{}: `{module}` uses `crate::{used}`, which is not below it", file.display()));
            }
        }
    }
    assert!(problems.is_empty(), "modules reaching upwards:\n{}", problems.join("\n"));
    let missing: Vec<_> = ORDER.iter().filter(|m| !seen.contains(**m)).collect();
    assert!(missing.is_empty(), "ORDER names modules that do not exist: {missing:?}");
}

#[test]
fn the_scanner_sees_paths_and_groups() {
    let used = used_modules("use crate::{access::{self, Principal}, store::Conn};\nlet x = crate::users::service::get();");
    assert_eq!(used, ["access", "store", "users"].into_iter().map(String::from).collect());
}
