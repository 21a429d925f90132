//! The book as static HTML: one file per page (README.md is index.html),
//! the contents of docs/README.md as a side bar, links between pages
//! turned into links between the HTML files, headings with GitHub's anchors.

use super::links::{anchors, options};
use super::Page;
use anyhow::{Context, Result};
use pulldown_cmark::{CowStr, Event, Parser, Tag};
use std::path::Path;

/// The page's HTML file, relative to the book's root.
fn html_rel(rel: &str) -> String {
    if rel == "README.md" {
        "index.html".into()
    } else if rel == "docs/README.md" {
        "docs/index.html".into()
    } else {
        format!("{}.html", rel.trim_end_matches(".md"))
    }
}

/// `../` as many times as `rel` has folders: from its HTML file to the root.
fn up(rel: &str) -> String {
    "../".repeat(rel.matches('/').count())
}

/// The side bar: the book's contents as docs/README.md lists them.
fn side_bar(pages: &[Page], from: &str) -> String {
    let mut nav = format!("<li><a href=\"{}index.html\">Home</a></li>\n", up(from));
    if let Some(contents) = pages.iter().find(|p| p.rel == "docs/README.md") {
        let mut href = None;
        let mut title = String::new();
        for event in Parser::new_ext(&contents.text, options()) {
            match event {
                Event::Start(Tag::Link { dest_url, .. }) if !dest_url.contains("://") => {
                    href = Some(dest_url.to_string());
                    title.clear();
                }
                Event::Text(t) | Event::Code(t) if href.is_some() => title.push_str(&t),
                Event::End(pulldown_cmark::TagEnd::Link) => {
                    // The pages of docs/ only: Home is the README.
                    if let Some(h) = href
                        .take()
                        .filter(|h| h.ends_with(".md") && !h.starts_with("../"))
                    {
                        let target = html_rel(&format!("docs/{h}"));
                        nav.push_str(&format!(
                            "<li><a href=\"{}{target}\">{}</a></li>\n",
                            up(from),
                            escape(&title)
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    nav
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A link as the HTML file needs it: a page's `.md` becomes its `.html`;
/// any other file of the repository is linked where it lies.
fn rewrite(dest: &str, page_rel: &str, root: &Path, is_page: &dyn Fn(&str) -> bool) -> String {
    if dest.contains("://") || dest.starts_with('#') || dest.starts_with("mailto:") {
        return dest.into();
    }
    let (file, frag) = dest.split_once('#').unwrap_or((dest, ""));
    let dir = Path::new(page_rel).parent().unwrap_or(Path::new(""));
    let joined = dir.join(file);
    let target: String = joined.to_string_lossy().replace('\\', "/");
    let target = normalize(&target);
    let frag = if frag.is_empty() {
        String::new()
    } else {
        format!("#{frag}")
    };
    if is_page(&target) {
        let here = Path::new(page_rel).parent().map(|_| up(page_rel));
        format!("{}{}{frag}", here.unwrap_or_default(), html_rel(&target))
    } else {
        format!("file://{}{frag}", root.join(&target).display())
    }
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

pub fn build(pages: &[Page], root: &Path, out: &Path) -> Result<()> {
    let is_page = |rel: &str| pages.iter().any(|p| p.rel == rel);
    for page in pages {
        let mut ids = anchors(&page.text).into_iter().map(|(_, _, id)| id);
        let events = Parser::new_ext(&page.text, options()).map(|e| match e {
            Event::Start(Tag::Heading {
                level,
                classes,
                attrs,
                ..
            }) => Event::Start(Tag::Heading {
                level,
                id: ids.next().map(CowStr::from),
                classes,
                attrs,
            }),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url: rewrite(&dest_url, &page.rel, root, &is_page).into(),
                title,
                id,
            }),
            e => e,
        });
        let mut body = String::new();
        pulldown_cmark::html::push_html(&mut body, events);
        let title = anchors(&page.text)
            .into_iter()
            .next()
            .map(|(_, t, _)| t)
            .unwrap_or_else(|| page.rel.clone());
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}</title><style>{STYLE}</style></head>\n<body><nav><ul>\n{}</ul></nav>\
             <main>\n{body}</main></body></html>\n",
            escape(&title),
            side_bar(pages, &page.rel)
        );
        let path = out.join(html_rel(&page.rel));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

const STYLE: &str = "body{margin:0;display:flex;font:16px/1.5 system-ui,sans-serif;color:#222}\
nav{width:15em;flex:none;padding:1em;background:#f5f5f5;min-height:100vh}\
nav ul{list-style:none;padding:0}nav li{margin:.3em 0}\
main{max-width:52em;padding:1em 2em;overflow-x:auto}\
pre{background:#f5f5f5;padding:.8em;overflow-x:auto}code{font-size:90%}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_become_html_links() {
        let pages = |r: &str| ["README.md", "docs/api.md", "docs/README.md"].contains(&r);
        let root = Path::new("/repo");
        assert_eq!(
            rewrite("docs/api.md#errors", "README.md", root, &pages),
            "docs/api.html#errors"
        );
        assert_eq!(
            rewrite("../README.md", "docs/api.md", root, &pages),
            "../index.html"
        );
        assert_eq!(
            rewrite("../templates/openapi.yaml", "docs/api.md", root, &pages),
            "file:///repo/templates/openapi.yaml"
        );
    }
}
