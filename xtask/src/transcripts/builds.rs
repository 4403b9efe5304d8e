//! The builds of bocker that the pages use, and the small programs they
//! compile before a session.
//!
//! A build is named as the sessions name it (`use stage5`):
//!
//! | name          | features                        | what it is                              |
//! |---------------|---------------------------------|-----------------------------------------|
//! | `stage0`      | none                            | the frame alone                         |
//! | `stageN-todo` | `stageN`, `solved1`…`solvedN-1` | chapter N untouched, the ones before done |
//! | `stageN`      | `stageN`, `solved1`…`solvedN`   | chapter N done, and the ones before     |
//! | `reference`   | `reference`                     | the finished runtime                    |
//!
//! `stage8` is the reference: `reference` is `stage8` with every chapter
//! solved (its `full` only turns on `stage8`), so one build serves both.
//!
//! Each is built as its stage's test suite builds it (`cargo test
//! --no-run`, see suites.rs), in the project's own target folder: the
//! builds that the test suites, the skeleton proof or a student already
//! made are reused, and a suite that a page shows needs no second build.
//! Cargo leaves the last build it made in target/debug/bocker; the one that
//! was there before is put back afterwards (a student's `bocker`, say).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{anyhow, bail, ensure, Context, Result};
use regex::Regex;

use super::{say, signals, suites};

const BUILD_NAMES: &str = "the builds are stage0 … stage9, stage1-todo … stage9-todo and reference";

/// A build of bocker: its name in the sessions, its stage, its features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub name: String,
    pub stage: u8,
    pub features: Vec<String>,
}

impl Build {
    pub fn parse(name: &str) -> Result<Build> {
        let solved = |n: u8| (1..=n).map(|k| format!("solved{k}"));
        let build = |stage: u8, features: Vec<String>| Build {
            name: name.to_string(),
            stage,
            features,
        };
        if name == "reference" || name == "stage8" {
            return Ok(build(8, vec!["reference".to_string()]));
        }
        let stage_of = |digits: &str| match digits.parse::<u8>() {
            // stage9 is chapters 1 to 3 and 9 (Cargo.toml).
            Ok(n) if n <= 9 => Ok(n),
            _ => Err(anyhow!("no build named {name:?}: {BUILD_NAMES}")),
        };
        if let Some(digits) = name
            .strip_prefix("stage")
            .and_then(|rest| rest.strip_suffix("-todo"))
        {
            let n = stage_of(digits)?;
            ensure!(n >= 1, "no build named {name:?}: stage 0 has no exercise");
            let features = std::iter::once(format!("stage{n}"))
                .chain(solved(n - 1))
                .collect();
            return Ok(build(n, features));
        }
        if let Some(digits) = name.strip_prefix("stage") {
            let n = stage_of(digits)?;
            let features = if n == 0 {
                Vec::new()
            } else {
                std::iter::once(format!("stage{n}"))
                    .chain(solved(n))
                    .collect()
            };
            return Ok(build(n, features));
        }
        bail!("no build named {name:?}: {BUILD_NAMES}")
    }

    /// The order they are built in: by stage, the untouched chapter first.
    pub fn order(&self) -> (u8, bool, String) {
        (self.stage, !self.name.ends_with("-todo"), self.name.clone())
    }
}

/// Where cargo and rustc are, and the PATH that finds them. Through the
/// runner's `sudo -E`, PATH is sudo's own (secure_path), without the
/// toolchain; cargo says where it is in $CARGO.
pub struct Toolchain {
    pub cargo: PathBuf,
    pub rustc: PathBuf,
    pub path: OsString,
}

impl Toolchain {
    pub fn find() -> Toolchain {
        let cargo = std::env::var_os("CARGO")
            .map(PathBuf::from)
            .unwrap_or_else(|| "cargo".into());
        let beside = cargo.with_file_name("rustc");
        let rustc = if cargo.is_absolute() && beside.exists() {
            beside
        } else {
            "rustc".into()
        };
        let mut dirs: Vec<PathBuf> = cargo
            .parent()
            .filter(|d| d.is_absolute())
            .map(Path::to_path_buf)
            .into_iter()
            .collect();
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path = std::env::join_paths(dirs).unwrap_or_default();
        Toolchain { cargo, rustc, path }
    }

    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.env("PATH", &self.path);
        command
    }
}

/// The project's target folder, as cargo sees it (CARGO_TARGET_DIR or
/// build.target-dir, else target/).
pub fn target_dir(toolchain: &Toolchain, repo: &Path) -> Result<PathBuf> {
    let output = toolchain
        .command(&toolchain.cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(repo)
        .stderr(Stdio::inherit())
        .output()
        .context("cargo metadata")?;
    ensure!(output.status.success(), "cargo metadata failed");
    let json = String::from_utf8_lossy(&output.stdout);
    let found = Regex::new(r#""target_directory":"((?:[^"\\]|\\.)*)""#)?
        .captures(&json)
        .context("cargo metadata: no target_directory")?;
    Ok(PathBuf::from(
        found[1].replace("\\\"", "\"").replace("\\\\", "\\"),
    ))
}

/// Build each of `names` into `WORK/bin/NAME`, in stage order; the builds
/// that share their features are built once. After each, `built` gets its
/// name and its stage's test binary (see suites.rs); an error from it
/// stops the builds.
pub fn build_all(
    toolchain: &Toolchain,
    repo: &Path,
    target: &Path,
    names: &BTreeSet<String>,
    work: &Path,
    mut built: impl FnMut(&str, &Path) -> Result<()>,
) -> Result<()> {
    let mut builds = names
        .iter()
        .map(|name| Build::parse(name))
        .collect::<Result<Vec<_>>>()?;
    builds.sort_by_key(Build::order);
    let _kept = KeepUplifted::new(target)?;
    let mut made: BTreeMap<Vec<String>, (PathBuf, PathBuf)> = BTreeMap::new();
    let bins = work.join("bin");
    fs::create_dir_all(&bins)?;
    for build in builds {
        signals::check()?;
        let copy = bins.join(&build.name);
        if let Some((first, suite)) = made.get(&build.features) {
            fs::copy(first, &copy)?;
            built(&build.name, suite)?;
            continue;
        }
        let started = Instant::now();
        let json = work.join(format!("build-{}.json", build.name));
        let mut child = suites::cargo_build(&toolchain.cargo, &build.features, build.stage)
            .env("PATH", &toolchain.path)
            .current_dir(repo)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&json)?)
            .spawn()
            .context("cargo")?;
        let status = signals::wait(&mut child)?;
        ensure!(
            status.success(),
            "cargo failed to build {} ({status})",
            build.name
        );
        let json = fs::read_to_string(&json)?;
        let executable = bocker_executable(&json)
            .with_context(|| format!("cargo built no bocker binary for {}", build.name))?;
        let suite = suites::suite_executable(&json, build.stage)
            .with_context(|| format!("cargo built no test binary for {}", build.name))?;
        // At once: the next build replaces it.
        fs::copy(&executable, &copy)
            .with_context(|| format!("copying {}", executable.display()))?;
        let features = if build.features.is_empty() {
            "no features".to_string()
        } else {
            build.features.join(",")
        };
        say(&format!(
            "built {} ({features}) in {:.0?}",
            build.name,
            started.elapsed()
        ));
        built(&build.name, &suite)?;
        made.insert(build.features.clone(), (copy, suite));
    }
    Ok(())
}

/// The path of the bocker binary among cargo's JSON messages.
fn bocker_executable(json: &str) -> Option<PathBuf> {
    let executable = Regex::new(r#""executable":"([^"]+)""#).ok()?;
    json.lines()
        .filter(|line| {
            line.contains(r#""target":{"kind":["bin"]"#) && line.contains(r#""name":"bocker""#)
        })
        .find_map(|line| executable.captures(line).map(|c| PathBuf::from(&c[1])))
}

/// target/debug/bocker as it was before the builds: kept aside (a hard link
/// to it; cargo replaces the file, it does not write into it) and put back
/// when dropped.
struct KeepUplifted {
    uplifted: PathBuf,
    kept: PathBuf,
    existed: bool,
}

impl KeepUplifted {
    fn new(target: &Path) -> Result<KeepUplifted> {
        let uplifted = target.join("debug").join("bocker");
        let kept = target.join("debug").join(".bocker-before-transcripts");
        let _ = fs::remove_file(&kept);
        let existed = uplifted.exists();
        if existed {
            fs::hard_link(&uplifted, &kept)
                .with_context(|| format!("keeping {}", uplifted.display()))?;
        }
        Ok(KeepUplifted {
            uplifted,
            kept,
            existed,
        })
    }
}

impl Drop for KeepUplifted {
    fn drop(&mut self) {
        let result = if self.existed {
            fs::rename(&self.kept, &self.uplifted)
        } else {
            fs::remove_file(&self.uplifted).or_else(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })
        };
        if let Err(error) = result {
            say(&format!(
                "warning: could not put back {}: {error}",
                self.uplifted.display()
            ));
        }
    }
}

/// The programs that the pages compile with rustc before a session
/// (`program NAME` in a session), by name: where the page puts them is
/// /tmp/NAME.
const PROGRAMS: [(&str, &str); 4] = [
    ("escape", "chapters/01-chroot/escape.rs"),
    (
        "dangerous-calls",
        "chapters/08-security/attacks/dangerous_calls.rs",
    ),
    ("shocker", "chapters/08-security/attacks/shocker.rs"),
    ("whoami", "chapters/08-security/attacks/whoami.rs"),
];

/// Compile each of `names` into `work/programs/NAME`, as the pages do:
/// optimised, and static (they run inside busybox images, which have no
/// libc).
pub fn compile_programs(
    toolchain: &Toolchain,
    repo: &Path,
    names: &BTreeSet<String>,
    work: &Path,
) -> Result<()> {
    let dir = work.join("programs");
    fs::create_dir_all(&dir)?;
    for name in names {
        signals::check()?;
        let Some((_, source)) = PROGRAMS.iter().find(|(n, _)| n == name) else {
            bail!(
                "no program named {name:?} (known: {})",
                PROGRAMS.map(|(n, _)| n).join(", ")
            );
        };
        let status = toolchain
            .command(&toolchain.rustc)
            .args(["-O", "-C", "target-feature=+crt-static"])
            .arg(repo.join(source))
            .arg("-o")
            .arg(dir.join(name))
            .status()
            .context("rustc")?;
        ensure!(status.success(), "rustc failed on {source}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(name: &str) -> String {
        Build::parse(name).unwrap().features.join(",")
    }

    #[test]
    fn the_builds_and_their_features() {
        assert_eq!(features("stage0"), "");
        assert_eq!(features("stage1-todo"), "stage1");
        assert_eq!(features("stage1"), "stage1,solved1");
        assert_eq!(
            features("stage5-todo"),
            "stage5,solved1,solved2,solved3,solved4"
        );
        assert_eq!(
            features("stage5"),
            "stage5,solved1,solved2,solved3,solved4,solved5"
        );
        assert_eq!(features("stage8"), "reference");
        assert_eq!(
            features("stage9"),
            "stage9,solved1,solved2,solved3,solved4,solved5,solved6,solved7,solved8,solved9"
        );
        assert_eq!(features("reference"), "reference");
        for wrong in ["stage10", "stage0-todo", "stage", "stage1-done", "ref"] {
            assert!(Build::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_build_order() {
        let mut builds: Vec<Build> = ["reference", "stage5", "stage0", "stage5-todo", "stage4"]
            .iter()
            .map(|n| Build::parse(n).unwrap())
            .collect();
        builds.sort_by_key(Build::order);
        let names: Vec<&str> = builds.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            ["stage0", "stage4", "stage5-todo", "stage5", "reference"]
        );
    }

    #[test]
    fn the_bocker_binary_among_cargo_messages() {
        let json = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"crate_types":["lib"],"name":"bocker"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["bin"],"crate_types":["bin"],"name":"bocker","src_path":"/p/src/main.rs"},"executable":"/p/target/debug/bocker","fresh":true}
{"reason":"compiler-artifact","target":{"kind":["test"],"crate_types":["bin"],"name":"stage3_mounts"},"executable":"/p/target/debug/deps/stage3_mounts-1"}"#;
        assert_eq!(
            bocker_executable(json),
            Some(PathBuf::from("/p/target/debug/bocker"))
        );
    }
}
