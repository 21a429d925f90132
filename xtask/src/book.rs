//! `cargo xtask docs`: the docs book. README.md is the landing page and
//! docs/ the book (docs/README.md is its contents). This refreshes the
//! pages' generated parts (`generated`), checks every relative link
//! (`links`) and every `cargo xtask` command the pages show (`commands`),
//! and renders the pages to HTML (`html`). Plain Markdown rather than an
//! mdBook: GitHub shows the same pages, and no tool beyond one crate is
//! needed to build or check them.

mod api_reference;
mod commands;
mod diagrams;
mod generated;
mod html;
mod links;

use crate::flags;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One Markdown page of the book.
pub struct Page {
    /// Relative to the root, with `/` separators: `README.md`, `docs/api.md`.
    pub rel: String,
    pub text: String,
}

/// A broken link, stale part or failing command, at its page and line.
pub struct Problem {
    pub page: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.page, self.line, self.message)
    }
}

/// The 1-based line of byte offset `at` in `text`.
pub fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// README.md, then docs/README.md, then the other pages under docs/ by name.
pub fn pages(root: &Path) -> Result<Vec<Page>> {
    let mut rels = vec!["README.md".to_string()];
    let mut found = Vec::new();
    collect(&root.join("docs"), "docs", &mut found)?;
    found.sort_by_key(|r| (r != "docs/README.md", r.clone()));
    rels.extend(found);
    rels.into_iter()
        .map(|rel| {
            let text = std::fs::read_to_string(root.join(&rel))
                .with_context(|| format!("reading {}", root.join(&rel).display()))?;
            Ok(Page { rel, text })
        })
        .collect()
}

fn collect(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for e in entries {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = format!("{rel}/{name}");
        if e.file_type()?.is_dir() {
            collect(&e.path(), &path, out)?;
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
    Ok(())
}

/// Where the book goes by default: the workspace's target directory.
fn default_out() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| emulator::workspace_root().join("target"))
        .join("book")
}

pub fn run(args: flags::Docs) -> Result<ExitCode> {
    let root = args.root.unwrap_or_else(emulator::workspace_root);
    let mut problems = generated::refresh(&root, args.check)?;
    let pages = pages(&root)?;
    let link_stats = links::check(&root, &pages, &mut problems);
    let cmd_stats = commands::check(&pages, &mut problems);
    let out = args.out.unwrap_or_else(default_out);
    html::build(&pages, &root, &out)?;
    eprintln!(
        "docs: {} pages, {} relative links checked ({} external not fetched), \
         {} `cargo xtask` commands parsed ({} of them run), HTML in {}",
        pages.len(),
        link_stats.checked,
        link_stats.external,
        cmd_stats.parsed,
        cmd_stats.run,
        out.display()
    );
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        bail!(
            "docs: {} problem(s) above; fix the page (a generated part: `cargo xtask docs`)",
            problems.len()
        );
    }
    if args.open {
        open(&out.join("index.html"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens `page` with the desktop's handler; says where it is when there is none.
fn open(page: &Path) -> Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(opener).arg(page).status() {
        Ok(s) if s.success() => Ok(()),
        _ => bail!(
            "could not open a browser ({opener}); the book is {}",
            page.display()
        ),
    }
}
