//! Tidy: every Rust source file of the workspace says what it is in a `//!`
//! first line; no comment points at issue numbers or files outside the
//! repository; no file outside `tests/` grows past ~600 lines without its
//! header saying why (a `//!` line starting `Long:`); no top-level module of
//! a crate names its way back to itself through `crate::` paths.

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "templates" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn workspace_files() -> Vec<(String, String)> {
    let root = emulator::workspace_root();
    let mut files = vec![];
    rust_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            (rel, text)
        })
        .collect()
}

/// A hash or the word "issue" followed by a number: a comment that needs a
/// tracker to be understood.
fn mentions_an_issue(comment: &str) -> bool {
    let lower = comment.to_ascii_lowercase();
    let number_after = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_digit());
    lower.match_indices('#').any(|(i, _)| {
        number_after(&lower[i + 1..])
            && (i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric())
    }) || lower
        .match_indices("issue ")
        .any(|(i, m)| number_after(&lower[i + m.len()..]))
}

#[test]
fn every_source_file_says_what_it_is() {
    let missing: Vec<String> = workspace_files()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(p, _)| p)
        .collect();
    assert!(missing.is_empty(), "no `//!` first line: {missing:?}");
}

/// Places outside the repository a reader cannot open (spelled in pieces so
/// this file does not name them itself).
const OUTSIDE: &[&str] = &[concat!("../", "shared"), concat!("DESIGN", ".md")];

#[test]
fn comments_point_at_nothing_outside_the_repository() {
    let mut bad = vec![];
    // This file spells the rule out.
    let files = workspace_files()
        .into_iter()
        .filter(|(p, _)| !p.ends_with("tidy.rs"));
    for (path, text) in files {
        for (n, line) in text.lines().enumerate() {
            let Some(i) = line.find("//") else { continue };
            let comment = &line[i..];
            if mentions_an_issue(comment) || OUTSIDE.iter().any(|o| comment.contains(o)) {
                bad.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn long_files_say_why() {
    let mut bad = vec![];
    for (path, text) in workspace_files() {
        let lines = text.lines().count();
        let in_tests = path.split('/').any(|c| c == "tests");
        let says_why = text.lines().take_while(|l| l.starts_with("//!")).any(|l| {
            l.trim_start_matches("//!")
                .trim_start()
                .starts_with("Long:")
        });
        if lines > MAX_LINES && !in_tests && !says_why {
            bad.push(format!("{path}: {lines} lines"));
        }
    }
    assert!(
        bad.is_empty(),
        "over {MAX_LINES} lines without a reason: {bad:?}"
    );
}

#[test]
fn the_issue_rule_finds_numbers_only() {
    assert!(mentions_an_issue("// see #42"));
    assert!(mentions_an_issue(concat!("// fixes ", "issue", " 7")));
    assert!(!mentions_an_issue("// sk = \"TURN#0000000001\""));
    assert!(!mentions_an_issue("// the #[test] attribute"));
}

/// The top-level modules of each crate (`<crate>/src/<module>[.rs|/…]`)
/// and the others each one names as `crate::<module>` outside comments and
/// its unit tests.
fn module_graph() -> std::collections::BTreeMap<(String, String), Vec<String>> {
    let mut uses: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    let files = workspace_files();
    let mut modules: std::collections::BTreeSet<(String, String)> = Default::default();
    let top = |path: &str| -> Option<(String, String)> {
        let (krate, rest) = path.split_once("/src/")?;
        let first = rest.split('/').next()?.trim_end_matches(".rs");
        (!matches!(first, "lib" | "main" | "bin")).then(|| (krate.to_string(), first.to_string()))
    };
    for (path, _) in &files {
        if let Some(m) = top(path) {
            modules.insert(m);
        }
    }
    for (path, text) in &files {
        let Some((krate, module)) = top(path) else {
            continue;
        };
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let name: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let key = (krate.clone(), name.clone());
                if name != module && modules.contains(&key) {
                    let named = uses.entry((krate.clone(), module.clone())).or_default();
                    if !named.contains(&name) {
                        named.push(name);
                    }
                }
            }
        }
    }
    uses
}

/// A cycle through `start`, if there is one.
fn cycle_from(
    graph: &std::collections::BTreeMap<(String, String), Vec<String>>,
    krate: &str,
    start: &str,
) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = std::collections::BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&(krate.to_string(), at)).into_iter().flatten() {
            if next == start {
                return Some([path.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn no_module_names_its_way_back() {
    let graph = module_graph();
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|(krate, module)| {
            cycle_from(&graph, krate, module).map(|c| format!("{krate}: {}", c.join(" → ")))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "module cycles (move what both need into a leaf module): {cycles:?}"
    );
    // The rule itself: a cycle is found.
    let mut looped = graph.clone();
    looped.insert(("x".into(), "a".into()), vec!["b".into()]);
    looped.insert(("x".into(), "b".into()), vec!["a".into()]);
    assert!(cycle_from(&looped, "x", "a").is_some());
}
