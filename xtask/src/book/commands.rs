//! Every `cargo xtask` command the pages show is parsed by the real flags
//! (`flags::Xtask`), so a renamed or removed flag fails the docs check; the
//! ones that run offline and write nothing (synth, cost, man, completions,
//! deployer-policy and ci-role with `--account` and `--region`) are also run,
//! and must succeed. Commands that need AWS or a running `dev` are parsed
//! only.
//!
//! `json` code blocks must be JSON. Shown commands are those in shell code blocks, and inline code spans
//! that are whole commands; a span with a placeholder (`[--flag]`, `a|b`,
//! `...`, `<x>`) is a synopsis, not a command, and is skipped.

use super::{line_of, Page, Problem};
use crate::flags::{Command, Xtask};
use clap::error::ErrorKind;
use clap::Parser as _;
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use std::collections::BTreeSet;

pub struct Stats {
    pub parsed: usize,
    pub run: usize,
}

/// A command as shown, where it is shown.
struct Shown {
    page: String,
    line: usize,
    args: Vec<String>,
}

const SHELL: &[&str] = &["", "bash", "sh", "shell", "console"];

pub fn check(pages: &[Page], problems: &mut Vec<Problem>) -> Stats {
    let mut shown = Vec::new();
    for page in pages {
        find(page, &mut shown, problems);
    }
    let mut runs = BTreeSet::new();
    for s in &shown {
        let parse = |args: &[String]| {
            Xtask::try_parse_from(std::iter::once("cargo-xtask".to_string()).chain(args.to_vec()))
        };
        // `--students N`: a placeholder stands for a value of the flag's type.
        let filled: Vec<String> = s
            .args
            .iter()
            .map(|a| {
                if placeholder(a) {
                    "1".into()
                } else {
                    a.clone()
                }
            })
            .collect();
        let (args, parsed) = match parse(&s.args) {
            Err(_) if filled != s.args => (&filled, parse(&filled)),
            p => (&s.args, p),
        };
        match parsed {
            Ok(x) if offline(&x.command) => {
                runs.insert(args.clone());
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {}
            Err(e) => problems.push(Problem {
                page: s.page.clone(),
                line: s.line,
                message: format!(
                    "`cargo xtask {}` does not parse: {}",
                    s.args.join(" "),
                    e.to_string().lines().next().unwrap_or_default()
                ),
            }),
        }
    }
    for args in &runs {
        if let Err(message) = run(args) {
            let s = shown.iter().find(|s| {
                s.args.len() == args.len()
                    && s.args
                        .iter()
                        .zip(args)
                        .all(|(a, b)| a == b || placeholder(a))
            });
            problems.push(Problem {
                page: s.map(|s| s.page.clone()).unwrap_or_default(),
                line: s.map_or(0, |s| s.line),
                message,
            });
        }
    }
    Stats {
        parsed: shown.len(),
        run: runs.len(),
    }
}

/// `N`, `ADDR`, `ARN`, `RFC3339`: a value the reader fills in.
fn placeholder(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_uppercase())
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Whether the command runs without AWS, a network or a running `dev`,
/// and writes nothing but stdout.
fn offline(c: &Command) -> bool {
    match c {
        Command::Synth(a) => a.out.is_none(),
        Command::Cost(a) => !a.actual,
        Command::Man(a) => a.out.is_none(),
        Command::Completions(_) => true,
        Command::DeployerPolicy(a) => a.account.is_some() && a.aws.region.is_some(),
        Command::CiRole(a) => a.account.is_some() && a.aws.region.is_some(),
        _ => false,
    }
}

/// Runs this binary with `args`; a `--json` run must print one JSON document.
fn run(args: &[String]) -> Result<(), String> {
    let shown = format!("cargo xtask {}", args.join(" "));
    let exe = std::env::current_exe().map_err(|e| format!("{shown}: {e}"))?;
    let out = std::process::Command::new(exe)
        .args(args)
        .current_dir(emulator::workspace_root())
        .output()
        .map_err(|e| format!("{shown}: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            last.unwrap_or_default()
        ));
    }
    if args.iter().any(|a| a == "--json") {
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .map_err(|e| format!("`{shown}` printed no JSON document: {e}"))?;
    }
    Ok(())
}

/// The page's shown commands into `out`; a `json` block that is not JSON
/// into `problems`.
fn find(page: &Page, out: &mut Vec<Shown>, problems: &mut Vec<Problem>) {
    let mut block: Option<(usize, String)> = None;
    let mut json: Option<(usize, String)> = None;
    for (event, range) in Parser::new_ext(&page.text, super::links::options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match &kind {
                    CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or(""),
                    CodeBlockKind::Indented => "",
                };
                let first = line_of(&page.text, range.start) + 1;
                if SHELL.contains(&lang) {
                    block = Some((first, String::new()));
                } else if lang == "json" {
                    json = Some((first, String::new()));
                }
            }
            Event::Text(t) => {
                if let Some((_, text)) = block.as_mut().or(json.as_mut()) {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((first, text)) = block.take() {
                    in_block(page, first, &text, out);
                }
                if let Some((first, text)) = json.take() {
                    if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
                        problems.push(Problem {
                            page: page.rel.clone(),
                            line: first,
                            message: format!("a `json` block that is not JSON: {e}"),
                        });
                    }
                }
            }
            Event::Code(code) => {
                if let Some(rest) = code.strip_prefix("cargo xtask ") {
                    let synopsis = ["[", "]", "|", "...", "…", "<", ">"];
                    if !synopsis.iter().any(|p| rest.contains(p)) {
                        out.push(Shown {
                            page: page.rel.clone(),
                            line: line_of(&page.text, range.start),
                            args: words(rest),
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

/// The commands of one shell block: continuation lines joined, comment
/// lines skipped, each `cargo xtask` up to the end of its shell command.
fn in_block(page: &Page, first: usize, text: &str, out: &mut Vec<Shown>) {
    let mut joined = String::new();
    let mut start = first;
    for (line, l) in (first..).zip(text.lines()) {
        if joined.is_empty() {
            start = line;
        }
        if let Some(head) = l.strip_suffix('\\') {
            joined.push_str(head);
            joined.push(' ');
            continue;
        }
        joined.push_str(l);
        let whole = std::mem::take(&mut joined);
        if whole.trim_start().starts_with('#') {
            continue;
        }
        let mut rest = whole.as_str();
        while let Some(i) = rest.find("cargo xtask") {
            rest = &rest[i + "cargo xtask".len()..];
            out.push(Shown {
                page: page.rel.clone(),
                line: start,
                args: words(rest),
            });
        }
    }
}

/// Shell words up to the end of the command (`#`, `|`, `;`, `&`, `>`,
/// `<`, `)` outside quotes, or a word opening with `(`, as a transcript's
/// remark), with quotes removed.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(n) = chars.next() {
                    word.get_or_insert_with(String::new).push(n);
                }
            }
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, '#' | '(') if word.is_none() => break,
            (None, '|' | ';' | '&' | '>' | '<' | ')' | '`') => break,
            (None, c) if c.is_whitespace() => out.extend(word.take()),
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.get_or_insert_with(String::new).push(n);
                }
            }
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_end_with_the_shell_command() {
        assert_eq!(
            words(" dev token --sub student-1)"),
            ["dev", "token", "--sub", "student-1"]
        );
        assert_eq!(
            words(" logs --route \"POST /sessions\" | head  # tail"),
            ["logs", "--route", "POST /sessions"]
        );
        assert_eq!(words(" cost --json > c.json"), ["cost", "--json"]);
        assert_eq!(
            words(" deploy --cors-origin ''"),
            ["deploy", "--cors-origin", ""]
        );
    }

    #[test]
    fn a_renamed_flag_is_reported_where_it_is_shown() {
        let page = Page {
            rel: "docs/x.md".into(),
            text: "# X\n\n```bash\ncargo xtask synth --format yaml\ncargo xtask synth --fromat yaml\n```\n\nOr `cargo xtask deploy --no-such-flag`.\n".into(),
        };
        let mut shown = Vec::new();
        let mut problems = Vec::new();
        find(&page, &mut shown, &mut problems);
        assert!(problems.is_empty());
        let lines: Vec<_> = shown.iter().map(|s| s.line).collect();
        assert_eq!(lines, [4, 5, 8]);
        let bad: Vec<_> = shown
            .iter()
            .filter(|s| {
                Xtask::try_parse_from(
                    std::iter::once("cargo-xtask".to_string()).chain(s.args.clone()),
                )
                .is_err()
            })
            .map(|s| s.line)
            .collect();
        assert_eq!(bad, [5, 8]);
    }
}
