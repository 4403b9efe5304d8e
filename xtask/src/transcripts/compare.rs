//! The end of a run: write the new transcripts into the chapters, or
//! compare them with the committed ones (after normalising both) and print
//! what differs as a unified diff, file by file.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use similar::TextDiff;

use super::chapters::Chapter;
use super::normalise::normalise;
use super::say;
use super::sessions::Work;

/// The transcripts (`*.txt`) in a folder, by file name.
fn transcripts_in(dir: &Path) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(names);
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".txt") {
            names.insert(name);
        }
    }
    Ok(names)
}

fn committed_dir(repo: &Path, chapter: &Chapter) -> PathBuf {
    repo.join("chapters").join(&chapter.dir).join("transcripts")
}

/// Replace each chapter's transcripts with the new ones (and drop the ones
/// no longer made), owned like the rest of the pages.
pub fn write(repo: &Path, work: &Work, chapters: &[Chapter]) -> Result<usize> {
    let owner = fs::metadata(repo.join("chapters"))?;
    let mut written = 0;
    for chapter in chapters {
        let (from, to) = (
            work.new_transcripts(&chapter.dir),
            committed_dir(repo, chapter),
        );
        let new = transcripts_in(&from)?;
        for old in transcripts_in(&to)?.difference(&new) {
            fs::remove_file(to.join(old))?;
        }
        for name in &new {
            let target = to.join(name);
            fs::copy(from.join(name), &target)
                .with_context(|| format!("writing {}", target.display()))?;
            std::os::unix::fs::chown(&target, Some(owner.uid()), Some(owner.gid()))?;
            written += 1;
        }
    }
    Ok(written)
}

/// Compare each chapter's new transcripts with its committed ones, both
/// normalised. Prints a unified diff of each file that differs (also of one
/// that is new, or no longer made); true if none does.
pub fn check(repo: &Path, work: &Work, chapters: &[Chapter]) -> Result<bool> {
    let mut same = true;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for chapter in chapters {
        let (new_dir, committed) = (
            work.new_transcripts(&chapter.dir),
            committed_dir(repo, chapter),
        );
        let names: BTreeSet<String> = transcripts_in(&new_dir)?
            .union(&transcripts_in(&committed)?)
            .cloned()
            .collect();
        for name in names {
            let read = |dir: &Path| {
                fs::read_to_string(dir.join(&name))
                    .ok()
                    .map(|text| normalise(&chapter.dir, &text))
            };
            let (before, after) = (read(&committed), read(&new_dir));
            if before == after {
                continue;
            }
            same = false;
            let path = format!("chapters/{}/transcripts/{name}", chapter.dir);
            let (old_header, new_header) = match (&before, &after) {
                (None, _) => ("/dev/null".to_string(), format!("now/{path}")),
                (_, None) => (format!("committed/{path}"), "/dev/null".to_string()),
                _ => (format!("committed/{path}"), format!("now/{path}")),
            };
            let (before, after) = (before.unwrap_or_default(), after.unwrap_or_default());
            let diff = TextDiff::from_lines(&before, &after);
            write!(
                out,
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&old_header, &new_header)
            )?;
        }
    }
    if !same {
        say("the transcripts above differ from what the commands print now (both normalised: see xtask/src/transcripts/normalise.rs)");
        say("run `cargo xtask transcripts CHAPTER…` to rewrite them, and check the pages that include them");
    }
    Ok(same)
}
