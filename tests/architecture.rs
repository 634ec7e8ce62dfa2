//! The layers of `src/` (docs/architecture.md), checked: every top-level module may use only
//! the modules listed before it in `ORDER`, so the module graph has no cycles, and a few
//! modules have a narrower allowance still. A module that reaches upwards fails this test with
//! the file and the path it used.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. Foundation, then infrastructure, then who is behind a request, then the
/// capabilities in the order they build on each other, then the surfaces.
const ORDER: &[&str] = &[
    // The binary's allocator (`main.rs` installs it): it uses nothing of the crate.
    "allocator",
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
    "oidc",
    "state",
    "observability",
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
    "calls",
    "users",
    "time_groups",
    "queues",
    "lifecycle",
    "me",
    "accounts",
    "directory",
    "sso",
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

/// Unit tests may reach anywhere: each `#[cfg(test)] mod … { … }` block is left out, braces
/// balanced, and whatever follows it is still read.
fn without_unit_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "#[cfg(test)]".len()..];
        let Some(open) = after.trim_start().strip_prefix("mod ").and_then(|m| m.find('{').map(|b| (m, b))) else {
            // Not a test module (an attribute on an item): keep it.
            out.push_str("#[cfg(test)]");
            rest = after;
            continue;
        };
        let (module, brace) = open;
        let body = &module[brace..];
        let mut depth = 0usize;
        let mut end = body.len();
        for (j, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &body[end..];
    }
    out.push_str(rest);
    out
}

/// How many `super::` steps lead from a file's module to the crate root
/// (`src/users.rs` and `src/users/mod.rs`: 1; `src/users/service.rs`: 2).
fn depth_of(file: &Path) -> usize {
    let rel = file.strip_prefix(src_dir()).expect("a file under src/");
    let parts: Vec<_> = rel.components().collect();
    let last_is_mod = rel.file_name().is_some_and(|n| n == "mod.rs");
    parts.len() - usize::from(last_is_mod)
}

/// Top-level modules reached through `super::` chains that climb to the crate root.
fn used_through_super(text: &str, depth: usize) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (i, _) in text.match_indices("super::") {
        if text[..i].ends_with("super::") {
            continue; // counted from the first `super` of the chain
        }
        let mut rest = &text[i..];
        let mut steps = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            steps += 1;
            rest = r;
        }
        if steps >= depth {
            let name = ident_at(rest);
            if !name.is_empty() {
                used.insert(name.to_string());
            }
        }
    }
    used
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
        if rest.starts_with('{') {
            let group = &rest[..rest.find(';').unwrap_or(rest.len())];
            let mut paths = Vec::new();
            use_paths(group, "", &mut paths);
            used.extend(paths.iter().map(|path| ident_at(path.trim()).to_string()).filter(|name| !name.is_empty()));
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
            problems
                .push(format!("{}: module `{module}` is not placed in ORDER (tests/architecture.rs)", file.display()));
            continue;
        };
        seen.insert(module.clone());
        let text = without_unit_tests(&std::fs::read_to_string(file).expect("source file is readable"));
        for used in used_modules(&text).into_iter().chain(used_through_super(&text, depth_of(file))) {
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
fn unit_tests_are_left_out_and_what_follows_them_is_read() {
    let text = "use crate::a;\n#[cfg(test)]\nmod tests {\n    fn f() { crate::z::g(); }\n}\nuse crate::b;\n";
    let kept = without_unit_tests(text);
    assert_eq!(used_modules(&kept), ["a", "b"].into_iter().map(String::from).collect());
}

#[test]
fn super_chains_to_the_crate_root_are_seen() {
    let deep = src_dir().join("users").join("service.rs");
    assert_eq!(depth_of(&deep), 2);
    assert_eq!(depth_of(&src_dir().join("users").join("mod.rs")), 1);
    let used = used_through_super("use super::super::console::x;\nsuper::model::f();", 2);
    assert_eq!(used, ["console"].into_iter().map(String::from).collect());
}

#[test]
fn the_scanner_sees_paths_and_groups() {
    let used =
        used_modules("use crate::{access::{self, Principal}, store::Conn};\nlet x = crate::users::service::get();");
    assert_eq!(used, ["access", "store", "users"].into_iter().map(String::from).collect());
}

/// The text with `//` comments blanked out (a `//` after `:` is a URL in a string, kept).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            let cut = line.match_indices("//").find(|(i, _)| *i == 0 || &line[i - 1..*i] != ":").map(|(i, _)| i);
            &line[..cut.unwrap_or(line.len())]
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path a `use` tree names, spelled out (`a::{b, c::d as e}` → `a::b`, `a::c::d`).
fn use_paths(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let prefix = [prefix, head].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("::");
        let inner = &tree[open + 1..tree.rfind('}').filter(|close| *close > open).unwrap_or(tree.len())];
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    use_paths(&inner[start..i], &prefix, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        use_paths(&inner[start..], &prefix, out);
    } else if !tree.is_empty() {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        out.push(if prefix.is_empty() { path.to_string() } else { format!("{prefix}::{path}") });
    }
}

/// Whether a path under `crate::store::` reaches a function or a module of functions rather than
/// a plain type: only paths with a type in them (`store::users::Link`) are plain data.
fn reaches_store_functions(path_after_store: &str) -> bool {
    !path_after_store.split("::").any(|segment| segment.trim().starts_with(|c: char| c.is_ascii_uppercase()))
}

/// What in a handler's file opens the database or calls the store: `state.store.read()`,
/// `state.store.begin()`, and any `crate::store::` path to a function or function module,
/// called or imported.
fn store_touches(text: &str) -> Vec<String> {
    let text = without_comments(&without_unit_tests(text));
    let mut found = Vec::new();
    // Whitespace aside, so that a call rustfmt spread over lines is seen too.
    let squashed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for opening in [".store.read()", ".store.begin()", "Store::read(", "Store::begin("] {
        if squashed.contains(opening) {
            found.push(format!("`{}`", opening.trim_start_matches('.')));
        }
    }
    // Imports, spelled out: `use crate::{store::accounts, …}` and `use crate::store::x::{self, …}` too.
    // A `use` item starts a line (after any visibility); it may run over several lines.
    let mut code = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let item = line.trim_start();
        let item = match item.strip_prefix("pub") {
            Some(rest) if rest.starts_with(' ') || rest.starts_with('(') => {
                rest[rest.find(' ').unwrap_or(0)..].trim_start()
            }
            _ => item,
        };
        let Some(tree) = item.strip_prefix("use ") else {
            code.push_str(line);
            code.push('\n');
            continue;
        };
        let mut tree = tree.to_string();
        while !tree.contains(';') {
            let Some(next) = lines.next() else { break };
            tree.push(' ');
            tree.push_str(next);
        }
        let mut paths = Vec::new();
        use_paths(&tree[..tree.find(';').unwrap_or(tree.len())], "", &mut paths);
        for path in paths {
            let path = path.replace(char::is_whitespace, "");
            let Some(after) = path.strip_prefix("crate::store") else { continue };
            let after = after.trim_start_matches("::");
            if after.is_empty() || after.ends_with("self") || after.ends_with('*') || reaches_store_functions(after) {
                found.push(format!("`use {path}`"));
            }
        }
    }
    // Paths in code: `crate::store::accounts::by_slug(…)`.
    for (i, _) in code.match_indices("crate::store::") {
        let after = &code[i + "crate::store::".len()..];
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).unwrap_or(after.len());
        let path = after[..end].trim_end_matches(':');
        if reaches_store_functions(path) {
            found.push(format!("`crate::store::{path}`"));
        }
    }
    found
}

/// The console's pages and every capability's routes reach the database only through services:
/// no handler opens a connection or calls `crate::store::…` itself (docs/architecture.md).
#[test]
fn handlers_never_touch_the_store() {
    let mut files = Vec::new();
    rust_files(&src_dir().join("console"), &mut files);
    let console_files = files.len();
    for entry in std::fs::read_dir(src_dir()).expect("src/ is readable") {
        let api = entry.expect("directory entry").path().join("api.rs");
        if api.is_file() {
            files.push(api);
        }
    }
    assert!(console_files > 10 && files.len() > console_files + 5, "the scan found too few files: {files:?}");
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source file is readable");
        for touch in store_touches(&text) {
            problems.push(format!("{}: {touch}; call the capability's service instead", file.display()));
        }
    }
    assert!(problems.is_empty(), "handlers touching the store:\n{}", problems.join("\n"));
}

#[test]
fn the_store_scanner_tells_types_from_functions() {
    let clean = "use crate::store::users::Link;\nuse crate::store::activity::{EventFilter, EventRecord};\n\
        // state.store.read() in a comment, and crate::store::accounts::by_slug too\n\
        let f = crate::store::sessions::SessionFilter::default();\nlet url = \"https://x\"; let s = &state.store;";
    assert_eq!(store_touches(clean), Vec::<String>::new());
    let touches = store_touches(
        "use crate::store::accounts;\nuse crate::store::activity::{self as events, EventFilter};\n\
         use crate::{error::Result, store::{grants, named::NamedRecord}};\n\
         let mut conn = state.store.read().await?;\nlet tx = state.store.begin().await?;\n\
         let a = crate::store::accounts::by_slug(&mut conn, slug).await?;",
    );
    assert_eq!(
        touches,
        [
            "`store.read()`",
            "`store.begin()`",
            "`use crate::store::accounts`",
            "`use crate::store::activity::self`",
            "`use crate::store::grants`",
            "`crate::store::accounts::by_slug`",
        ]
    );
    let unit_tests_and_all = "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::store::accounts;\n}";
    assert_eq!(store_touches(unit_tests_and_all), Vec::<String>::new());
}
