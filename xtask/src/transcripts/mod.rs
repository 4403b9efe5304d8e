//! `cargo xtask transcripts [--check] [CHAPTER…]`: the book's transcripts,
//! the commands the pages show, run for real, with their real output.
//!
//! ```text
//! cargo xtask transcripts                  (re)write chapters/*/transcripts/*.txt
//! cargo xtask transcripts 05-network 7     only these chapters (05-network, 05 or 5)
//! cargo xtask transcripts --check [CH…]    make them in a scratch folder and
//!                                          compare with the committed ones
//! ```
//!
//! A page includes a transcript inside its ```text fence:
//! `{{#include transcripts/NAME.txt}}`. For the chapters asked for, a run:
//!
//! 1. builds the variants of bocker that their sessions name (`use
//!    stage5`, see builds.rs), as their test suites build them;
//! 2. runs the test suites that their pages show and keeps their stable
//!    lines (suites.rs; which ones: chapters.rs);
//! 3. runs each chapter's session, `chapters/NN-topic/transcripts/session.sh`,
//!    alone, in namespaces of its own with a fresh /tmp (sessions.rs, and
//!    scripts/lib/transcript-session.sh for the shell side);
//! 4. writes the transcripts into the chapters, or with `--check`
//!    compares them with the committed ones after hiding what changes
//!    from run to run (normalise.rs: the rules, each with its test) and
//!    prints a unified diff of each file that differs.
//!
//! It needs root (namespaces, mounts, cgroups). As a user with sudo,
//! `cargo xtask` gets it: cargo's runner (scripts/as-root) re-runs it with
//! `sudo -E`. Whatever it makes as root in the project is given back to the
//! project's owner. Everything it starts (containers, chapter 7's
//! registry) is stopped and its scratch folder removed when it ends, also
//! on an error or Ctrl-C. (A test suite that runs then is let finish, as
//! its tests clean up after themselves; a second Ctrl-C ends it at once.)

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};

mod builds;
mod chapters;
mod compare;
mod normalise;
mod sessions;
pub mod signals;
mod suites;

use builds::{Build, Toolchain};
use chapters::{Chapter, SuiteTranscript};
use sessions::Work;

#[derive(clap::Args)]
pub struct Args {
    /// Make them in a scratch folder and compare them with the committed
    /// ones, both normalised (ids, pids, dates, digests, …): print a diff
    /// and fail if they differ.
    #[arg(long)]
    check: bool,
    /// Print the rules of that normalisation (what each one hides, and
    /// why) and exit.
    #[arg(long, conflicts_with = "check")]
    rules: bool,
    /// The chapters to do (05-network, 05 or 5); all of them if none.
    chapters: Vec<String>,
}

pub fn say(message: &str) {
    eprintln!("transcripts: {message}");
}

/// Run it; true if it wrote the transcripts, or found them current.
pub fn run(args: &Args) -> Result<bool> {
    if args.rules {
        normalise::print_rules();
        return Ok(true);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask/ has no parent")?
        .to_path_buf();
    let chapters = chapters::select(&repo, &args.chapters)?;
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("this needs root (namespaces, mounts, cgroups): run `cargo xtask transcripts` as root, or as a user with sudo (cargo's runner, scripts/as-root, re-runs it with sudo)");
    }
    chapters::check_tools(&chapters)?;
    signals::catch()?;
    let toolchain = Toolchain::find();
    let target = builds::target_dir(&toolchain, &repo)?;
    let _lock = lock(&target)?;

    let started = Instant::now();
    let work = Work::new()?;
    let made = make(&toolchain, &repo, &target, &work, &chapters);
    hand_back(&repo, &target);
    made?;
    say(&format!(
        "made {} chapters' transcripts in {:.0?}",
        chapters.len(),
        started.elapsed()
    ));

    signals::check()?;
    if args.check {
        let same = compare::check(&repo, &work, &chapters)?;
        if same {
            println!("transcripts ok");
        }
        Ok(same)
    } else {
        let written = compare::write(&repo, &work, &chapters)?;
        say(&format!("wrote {written} transcripts"));
        Ok(true)
    }
}

/// Build, run the suites and the sessions: the new transcripts, in
/// `work`. The suites run (one at a time) while the later builds compile;
/// the sessions (a few at a time, see sessions.rs) once the suites are
/// done: a session's output may show what else runs on the machine (the
/// last OOM kill in chapter 4's dmesg, say), and the stage 4 suite
/// provokes some.
fn make(
    toolchain: &Toolchain,
    repo: &Path,
    target: &Path,
    work: &Work,
    chapters: &[Chapter],
) -> Result<()> {
    let phase = Instant::now();
    let suite_transcripts: Vec<(&Chapter, SuiteTranscript)> = chapters
        .iter()
        .flat_map(|chapter| {
            chapters::suite_transcripts(chapter.number)
                .into_iter()
                .map(move |s| (chapter, s))
        })
        .collect();
    let mut wanted: BTreeSet<String> = chapters
        .iter()
        .flat_map(|c| c.builds.iter().cloned())
        .collect();
    wanted.extend(suite_transcripts.iter().map(|(_, s)| s.build().to_string()));
    // Each suite once (must it pass?), in the order of their builds.
    let mut suites: Vec<(&str, bool)> = Vec::new();
    for (_, transcript) in &suite_transcripts {
        if !suites.iter().any(|(build, _)| *build == transcript.build()) {
            let want_ok = matches!(transcript, SuiteTranscript::Passing { .. });
            suites.push((transcript.build(), want_ok));
        }
    }
    suites.sort_by_key(|(build, _)| Build::parse(build).map(|b| b.order()).ok());

    let (built_tx, built_rx) = mpsc::channel::<(String, PathBuf)>();
    let suite_failed = AtomicBool::new(false);
    let failed = &suite_failed;
    let outputs = thread::scope(|scope| {
        let lane = scope.spawn(move || -> Result<BTreeMap<&str, String>> {
            let mut built = BTreeMap::new();
            let mut outputs = BTreeMap::new();
            for (name, want_ok) in suites {
                while !built.contains_key(name) {
                    match built_rx.recv() {
                        Ok((build, suite)) => built.insert(build, suite),
                        Err(_) => bail!("stopped before {name} was built"),
                    };
                }
                let raw = run_suite(toolchain, repo, work, name, &built[name], want_ok);
                match raw {
                    Ok(raw) => outputs.insert(name, raw),
                    Err(error) => {
                        failed.store(true, Ordering::SeqCst);
                        return Err(error);
                    }
                };
            }
            Ok(outputs)
        });
        let built = builds::build_all(
            toolchain,
            repo,
            target,
            &wanted,
            &work.root,
            |name, suite| {
                // (The suites' thread may be done; if a suite failed, stop.)
                let _ = built_tx.send((name.to_string(), suite.to_path_buf()));
                match suite_failed.load(Ordering::SeqCst) {
                    true => bail!("stopped: a test suite failed"),
                    false => Ok(()),
                }
            },
        );
        drop(built_tx);
        let outputs = lane.join().expect("the test suites' thread panicked");
        match (built, outputs) {
            (Ok(()), outputs) => outputs,
            (Err(error), Err(suite)) if error.to_string().starts_with("stopped") => Err(suite),
            (Err(error), _) => Err(error),
        }
    })?;
    say(&format!(
        "{} builds and {} test suites done in {:.0?}",
        wanted.len(),
        outputs.len(),
        phase.elapsed()
    ));

    for (chapter, transcript) in &suite_transcripts {
        let raw = &outputs[transcript.build()];
        let (file, text) = match transcript {
            SuiteTranscript::Passing { file, .. } => (file, suites::passing(raw)),
            SuiteTranscript::Failing { test, file, .. } => (file, suites::failing(raw, test)?),
            SuiteTranscript::TodoLine { file, .. } => {
                let line = suites::first_todo_line(raw)
                    .context("no `bocker: unfinished exercise` line in the test run")?;
                (file, format!("{line}\n"))
            }
        };
        let dir = work.new_transcripts(&chapter.dir);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(format!("{file}.txt")), text)?;
    }

    let programs: BTreeSet<String> = chapters
        .iter()
        .flat_map(|c| c.programs.iter().cloned())
        .collect();
    builds::compile_programs(toolchain, repo, &programs, &work.root)?;

    signals::check()?;
    let phase = Instant::now();
    let dirs: Vec<String> = chapters.iter().map(|c| c.dir.clone()).collect();
    sessions::run_all(repo, work, &dirs)?;
    say(&format!(
        "{} sessions run in {:.0?}",
        dirs.len(),
        phase.elapsed()
    ));
    Ok(())
}

/// Run the test suite of build `name` (its test binary: `suite`), which
/// must pass (`want_ok`) or fail; what it printed (stdout and stderr, in
/// order).
fn run_suite(
    toolchain: &Toolchain,
    repo: &Path,
    work: &Work,
    name: &str,
    suite: &Path,
    want_ok: bool,
) -> Result<String> {
    let started = Instant::now();
    let dir = work.root.join("tests");
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.out"));
    let file = fs::File::create(&path)?;
    let bocker = work.root.join("bin").join(name);
    let stage = Build::parse(name)?.stage;
    let mut child = suites::run(suite, stage, &bocker, repo, &toolchain.cargo)
        .env("PATH", &toolchain.path)
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .process_group(0)
        .spawn()
        .with_context(|| format!("running {}", suite.display()))?;
    signals::wait_letting_finish(&mut child, &format!("the tests of {name}"))?;
    let raw = fs::read_to_string(&path)?;
    if !suites::result_is(&raw, want_ok) {
        eprintln!("{raw}");
        bail!(
            "expected the tests of {name} to {} (their output is above)",
            if want_ok { "pass" } else { "fail" }
        );
    }
    say(&format!("tests of {name} run in {:.0?}", started.elapsed()));
    Ok(raw)
}

/// One run at a time: runs share the target folder, and each takes the
/// binary cargo has just built there.
fn lock(target: &Path) -> Result<fs::File> {
    fs::create_dir_all(target)?;
    let file = fs::File::create(target.join(".transcripts.lock"))?;
    // SAFETY: flock(2) on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        say("waiting for another `cargo xtask transcripts` to finish");
        // SAFETY: as above.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        ensure!(locked == 0, "cannot lock {}", target.display());
    }
    Ok(file)
}

/// Give the project's owner back what this run made as root in the target
/// folder (as scripts/as-root does for the test suites): a root-owned file
/// there would make their next `cargo clean` fail.
fn hand_back(repo: &Path, target: &Path) {
    let Ok(owner) = fs::metadata(repo.join("Cargo.toml")) else {
        return;
    };
    if owner.uid() == 0 {
        return;
    }
    let mut pending: Vec<PathBuf> = vec![target.to_path_buf()];
    let Ok(device) = fs::metadata(target).map(|m| m.dev()) else {
        return;
    };
    while let Some(path) = pending.pop() {
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.dev() != device {
            continue;
        }
        if meta.uid() == 0 {
            let _ = std::os::unix::fs::lchown(&path, Some(owner.uid()), Some(owner.gid()));
        }
        if meta.is_dir() {
            if let Ok(entries) = fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
}
