//! The chapters that have transcripts, and what each one needs.
//!
//! A chapter is a folder `chapters/NN-topic/` with a
//! `transcripts/session.sh`. What its session needs is read from it: the
//! builds it names (`use BUILD`, and the `chapter0_image BUILD` and
//! `chapter5_bridge BUILD` of its hidden start) and the programs it puts in
//! /tmp (`program NAME`), each at the start of a line. What its pages show
//! of the test suites is in [`suite_transcripts`].

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};

#[derive(Debug, Clone)]
pub struct Chapter {
    /// `05-network`
    pub dir: String,
    pub number: u8,
    /// The builds its session uses.
    pub builds: BTreeSet<String>,
    /// The programs its session puts in /tmp.
    pub programs: BTreeSet<String>,
}

/// A transcript that comes from a test suite rather than a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuiteTranscript {
    /// The stable lines of the passing suite of `build`.
    Passing {
        build: &'static str,
        file: &'static str,
    },
    /// One failure of the suite of `build`, which must fail, with the
    /// list of failures and the summary.
    Failing {
        build: &'static str,
        test: &'static str,
        file: &'static str,
    },
    /// The first `bocker: unfinished exercise` line of the (failing)
    /// suite of `build`.
    TodoLine {
        build: &'static str,
        file: &'static str,
    },
}

impl SuiteTranscript {
    pub fn build(&self) -> &'static str {
        match self {
            SuiteTranscript::Passing { build, .. }
            | SuiteTranscript::Failing { build, .. }
            | SuiteTranscript::TodoLine { build, .. } => build,
        }
    }
}

/// What chapter `number`'s pages show of the test suites.
pub fn suite_transcripts(number: u8) -> Vec<SuiteTranscript> {
    use SuiteTranscript::*;
    match number {
        // "Before chapter 1": every test of stage 1 fails on the untouched
        // exercise; the page shows one failure.
        0 => vec![Failing {
            build: "stage1-todo",
            test: "stage1_chroot::the_root_is_the_images_root",
            file: "stage1-failures",
        }],
        // Chapter 1 shows the report of its todo!() from that same run.
        1 => vec![
            Passing {
                build: "stage1",
                file: "tests",
            },
            TodoLine {
                build: "stage1-todo",
                file: "todo",
            },
        ],
        2 => vec![Passing {
            build: "stage2",
            file: "tests",
        }],
        3 => vec![Passing {
            build: "stage3",
            file: "tests",
        }],
        4 => vec![Passing {
            build: "stage4",
            file: "tests",
        }],
        5 => vec![Passing {
            build: "stage5",
            file: "tests",
        }],
        6 => vec![Passing {
            build: "stage6",
            file: "tests",
        }],
        // Chapter 7's pages show no test list.
        8 => vec![Passing {
            build: "stage8",
            file: "tests",
        }],
        _ => Vec::new(),
    }
}

/// The commands a chapter's session needs besides bash and coreutils, by
/// chapter number (scripts/install-deps.sh installs them).
const TOOLS: [&[&str]; 11] = [
    &["busybox", "ip"],
    &["busybox", "ip"],
    &["busybox", "ip", "lsns"],
    &["busybox", "ip", "findmnt", "unshare"],
    &["busybox", "ip", "dmesg"],
    &["busybox", "ip", "iptables", "bridge"],
    &["busybox", "ip", "btrfs", "mkfs.btrfs", "losetup", "strace"],
    &[
        "busybox",
        "ip",
        "docker-registry",
        "skopeo",
        "umoci",
        "curl",
        "jq",
        "tar",
    ],
    &["busybox", "ip", "perl", "lsattr", "setpriv"],
    // (Chapter 9 has no session yet.)
    &[],
    // The epilogue: podman (through conmon) and containerd (through its
    // runc shim, driven by ctr) run bocker as their runtime.
    &[
        "busybox",
        "umoci",
        "skopeo",
        "jq",
        "podman",
        "conmon",
        "containerd",
        "containerd-shim-runc-v2",
        "ctr",
    ],
];

/// Fail early, naming it, if a command that a session needs is missing.
pub fn check_tools(chapters: &[Chapter]) -> Result<()> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<_> = std::env::split_paths(&path)
        .chain(
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .map(Into::into),
        )
        .collect();
    for chapter in chapters {
        for tool in TOOLS
            .get(chapter.number as usize)
            .copied()
            .unwrap_or_default()
        {
            if !dirs.iter().any(|dir| dir.join(tool).exists()) {
                bail!("{tool} not found: chapter {}'s session needs it (scripts/install-deps.sh installs it)", chapter.dir);
            }
        }
    }
    Ok(())
}

/// Every chapter with a session, in order.
pub fn all(repo: &Path) -> Result<Vec<Chapter>> {
    let mut chapters = Vec::new();
    for entry in fs::read_dir(repo.join("chapters")).context("reading chapters/")? {
        let dir = entry?.file_name().to_string_lossy().into_owned();
        let Some(number) = dir.get(..2).and_then(|n| n.parse::<u8>().ok()) else {
            continue;
        };
        if dir.as_bytes().get(2) != Some(&b'-') {
            continue;
        }
        let session = repo
            .join("chapters")
            .join(&dir)
            .join("transcripts/session.sh");
        if !session.exists() {
            continue;
        }
        let text = fs::read_to_string(&session)
            .with_context(|| format!("reading {}", session.display()))?;
        let (builds, programs) = needs(&text);
        chapters.push(Chapter {
            dir,
            number,
            builds,
            programs,
        });
    }
    chapters.sort_by_key(|c| c.number);
    Ok(chapters)
}

/// The chapters asked for (`05-network`, `05` or `5`), in order; all of
/// them if none is.
pub fn select(repo: &Path, asked: &[String]) -> Result<Vec<Chapter>> {
    let all = all(repo)?;
    if asked.is_empty() {
        return Ok(all);
    }
    let mut chosen = Vec::new();
    for word in asked {
        let name = word
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(word);
        let found = all
            .iter()
            .find(|c| c.dir == name || name.parse::<u8>().ok() == Some(c.number));
        match found {
            Some(chapter) => chosen.push(chapter.clone()),
            None => bail!(
                "no chapter {word:?}: the chapters with transcripts are {}",
                all.iter()
                    .map(|c| c.dir.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    chosen.sort_by_key(|c| c.number);
    chosen.dedup_by_key(|c| c.number);
    Ok(chosen)
}

/// The builds and programs a session names.
fn needs(session: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut builds, mut programs) = (BTreeSet::new(), BTreeSet::new());
    for line in session.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("use" | "chapter0_image" | "chapter5_bridge"), Some(build)) => {
                builds.insert(build.to_string());
            }
            (Some("program"), Some(name)) => {
                programs.insert(name.to_string());
            }
            _ => {}
        }
    }
    (builds, programs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_session_needs() {
        let (builds, programs) = needs(
            "# use this comment\nchapter5_bridge stage5\nprogram escape\nuse stage4\ncmds <<'EOF'\nbocker run x\nEOF\n    use stage5-todo\n",
        );
        assert_eq!(
            builds.into_iter().collect::<Vec<_>>(),
            ["stage4", "stage5", "stage5-todo"]
        );
        assert_eq!(programs.into_iter().collect::<Vec<_>>(), ["escape"]);
    }

    #[test]
    fn chapters_by_name_or_number() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let names = |asked: &[&str]| {
            let asked: Vec<String> = asked.iter().map(|s| s.to_string()).collect();
            select(repo, &asked)
                .unwrap()
                .into_iter()
                .map(|c| c.dir)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&["5"]), ["05-network"]);
        assert_eq!(names(&["07-registry", "0"]), ["00-setup", "07-registry"]);
        assert_eq!(names(&["chapters/02-namespaces/", "02"]), ["02-namespaces"]);
        assert_eq!(names(&[]).len(), 11);
        assert!(select(repo, &["42".to_string()]).is_err());
    }
}
