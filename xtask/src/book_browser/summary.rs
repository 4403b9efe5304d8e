//! The pages SUMMARY.md names, in order.

use std::path::Path;

use anyhow::{Context, Result};

#[derive(Debug, PartialEq)]
pub struct Page {
    pub title: String,
    /// As SUMMARY.md names it: `01-chroot/README.md`.
    pub source: String,
    /// Not indented in SUMMARY.md: a chapter (or the introduction).
    pub top_level: bool,
}

impl Page {
    /// The built page, relative to the site's root. (The book does not run
    /// mdBook's `index` preprocessor: README.md stays README.html.)
    pub fn html(&self) -> String {
        format!("{}.html", self.source.trim_end_matches(".md"))
    }

    /// A word to search the chapter by: the longest word of its title.
    pub fn search_term(&self) -> String {
        let mut best = "";
        for word in self
            .title
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.chars().all(|c| c.is_ascii_digit()))
        {
            if word.chars().count() > best.chars().count() {
                best = word;
            }
        }
        best.to_string()
    }
}

/// The pages of the book in `book` (the folder with book.toml).
pub fn pages(book: &Path) -> Result<Vec<Page>> {
    let toml = std::fs::read_to_string(book.join("book.toml"))
        .with_context(|| format!("reading {}/book.toml", book.display()))?;
    let src = toml
        .lines()
        .filter_map(|line| line.trim().strip_prefix("src"))
        .filter_map(|rest| rest.trim().strip_prefix('='))
        .map(|value| value.trim().trim_matches('"').to_string())
        .next()
        .unwrap_or_else(|| "src".into());
    let file = book.join(src).join("SUMMARY.md");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    Ok(parse(&text))
}

/// Every `[title](page.md)` of SUMMARY.md, in order; a line that starts
/// with spaces is a sub-page.
fn parse(text: &str) -> Vec<Page> {
    let mut pages = Vec::new();
    for line in text.lines() {
        let top_level = !line.starts_with([' ', '\t']);
        let Some(open) = line.find('[') else { continue };
        let Some(close) = line[open..].find("](").map(|i| open + i) else {
            continue;
        };
        let Some(end) = line[close..].find(')').map(|i| close + i) else {
            continue;
        };
        let source = line[close + 2..end].trim();
        if source.is_empty() || !source.ends_with(".md") {
            continue; // a draft chapter has no page
        }
        pages.push(Page {
            title: line[open + 1..close].to_string(),
            source: source.trim_start_matches("./").to_string(),
            top_level,
        });
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_become_pages_and_chapters_a_search_word() {
        let pages = parse(
            "# Summary\n\n[Introduction](introduction.md)\n\n\
             - [3. Mounts and /proc](03-mounts/README.md)\n    \
             - [Under the hood](03-mounts/under-the-hood.md)\n- [Draft]()\n",
        );
        assert_eq!(pages.len(), 3);
        assert_eq!(pages[1].html(), "03-mounts/README.html");
        assert!(pages[1].top_level && !pages[2].top_level);
        assert_eq!(pages[1].search_term(), "Mounts");
        assert_eq!(pages[0].search_term(), "Introduction");
    }
}
