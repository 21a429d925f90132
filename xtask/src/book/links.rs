//! Every relative link of the book points at a file of the repository and,
//! with a `#fragment` into a page, at one of that page's headings (named as
//! GitHub names them). External links are counted, not fetched: the tests
//! run without a network.

use super::{line_of, Page, Problem};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

pub struct Stats {
    pub checked: usize,
    pub external: usize,
}

/// The Markdown extensions the pages use (tables, as GitHub renders them).
pub fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// A heading's anchor as GitHub makes it: lowercased, punctuation other
/// than `-` and `_` dropped, spaces turned into `-`.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a page's headings, in order; a repeated one gets `-1`, `-2`.
pub fn anchors(text: &str) -> Vec<(HeadingLevel, String, String)> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut current: Option<(HeadingLevel, String)> = None;
    for event in Parser::new_ext(text, options()) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => current = Some((level, String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, s)) = &mut current {
                    s.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, title)) = current.take() {
                    let base = slug(&title);
                    let n = seen.entry(base.clone()).or_insert(0);
                    let id = if *n == 0 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    };
                    *n += 1;
                    out.push((level, title, id));
                }
            }
            _ => {}
        }
    }
    out
}

/// `dir/../x` as `x`, without touching the file system; `None` when it
/// climbs out of the root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    Some(out)
}

pub fn check(root: &Path, pages: &[Page], problems: &mut Vec<Problem>) -> Stats {
    let mut stats = Stats {
        checked: 0,
        external: 0,
    };
    let by_rel: HashMap<&str, HashSet<String>> = pages
        .iter()
        .map(|p| {
            let ids = anchors(&p.text).into_iter().map(|(_, _, id)| id).collect();
            (p.rel.as_str(), ids)
        })
        .collect();
    for page in pages {
        let dir = Path::new(&page.rel)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for (event, range) in Parser::new_ext(&page.text, options()).into_offset_iter() {
            let dest = match event {
                Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => dest_url,
                _ => continue,
            };
            let mut bad = |message: String| {
                problems.push(Problem {
                    page: page.rel.clone(),
                    line: line_of(&page.text, range.start),
                    message,
                })
            };
            if dest.contains("://") || dest.starts_with("mailto:") {
                stats.external += 1;
                continue;
            }
            stats.checked += 1;
            let (file, fragment) = match dest.split_once('#') {
                Some((f, frag)) => (f, Some(frag)),
                None => (dest.as_ref(), None),
            };
            let target = if file.is_empty() {
                PathBuf::from(&page.rel)
            } else {
                match normalize(&dir.join(file)) {
                    Some(t) => t,
                    None => {
                        bad(format!("link `{dest}` leads out of the repository"));
                        continue;
                    }
                }
            };
            let target_rel = target.to_string_lossy().replace('\\', "/");
            if !root.join(&target).exists() {
                bad(format!("link `{dest}`: no file {target_rel}"));
                continue;
            }
            let Some(fragment) = fragment else { continue };
            match by_rel.get(target_rel.as_str()) {
                Some(ids) if ids.contains(fragment) => {}
                Some(_) => bad(format!(
                    "link `{dest}`: {target_rel} has no heading whose anchor is `#{fragment}`"
                )),
                None => bad(format!(
                    "link `{dest}`: a fragment into {target_rel}, which is not a page of the book"
                )),
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_as_github_makes_them() {
        assert_eq!(
            slug("Permissions: the deployer, the roles and the table key"),
            "permissions-the-deployer-the-roles-and-the-table-key"
        );
        assert_eq!(
            slug("Deploying from CI (GitHub Actions, no stored keys)"),
            "deploying-from-ci-github-actions-no-stored-keys"
        );
        assert_eq!(slug("`cargo xtask dev`"), "cargo-xtask-dev");
    }

    #[test]
    fn repeated_headings_are_numbered() {
        let ids: Vec<_> = anchors("# A\n## B\n## B\n")
            .into_iter()
            .map(|(_, _, id)| id)
            .collect();
        assert_eq!(ids, ["a", "b", "b-1"]);
    }
}
