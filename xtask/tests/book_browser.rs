//! `cargo xtask book-browser` on a tiny book (tests/fixture-book): it passes
//! the clean book, and fails a copy with one problem of each kind planted,
//! naming each. They need mdbook and Chromium, as the task does
//! (scripts/install-deps.sh --with-book installs both).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the fixture book in a fresh folder under target/.
fn copy_of_fixture(name: &str) -> PathBuf {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("book-browser-{name}"));
    let _ = fs::remove_dir_all(&scratch);
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture-book"),
        &scratch.join("book"),
    );
    scratch
}

fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &to.join(entry.file_name()));
        } else {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn append(file: &Path, text: &str) {
    let mut all = fs::read_to_string(file).unwrap();
    all.push_str(text);
    fs::write(file, all).unwrap();
}

/// Runs the task on `scratch/book`; its exit status and output.
fn check(scratch: &Path, extra: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("book-browser")
        .arg("--book")
        .arg(scratch.join("book"))
        .arg("--out")
        .arg(scratch.join("out"))
        .args(["--screenshot", "introduction.md"])
        .args(["--screenshot", "02-pears/README.md"])
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn the_clean_fixture_book_passes_every_check() {
    let scratch = copy_of_fixture("clean");
    let (passed, output) = check(&scratch, &[]);
    assert!(passed, "the clean book failed:\n{output}");
    for check in [
        "console and requests",
        "folds",
        "box drawings",
        "tables",
        "search",
        "screenshots",
    ] {
        assert!(
            output.contains(&format!("ok    {check} (")),
            "no `ok {check}`:\n{output}"
        );
    }
    // Each check looked at something: the fixture has 3 folds, 8 lines
    // of box drawings, 1 table, 3 chapters.
    for counted in [
        "(3 opened)",
        "(8 lines measured)",
        "(1 measured)",
        "(3 chapters searched)",
    ] {
        assert!(output.contains(counted), "no `{counted}`:\n{output}");
    }
    for shot in ["introduction.png", "02-pears-README.png"] {
        assert!(scratch.join("out").join(shot).is_file(), "no {shot}");
    }
}

#[test]
fn each_planted_problem_fails_its_check() {
    let scratch = copy_of_fixture("planted");
    let src = scratch.join("book/src");
    // An inline script that throws, a console error, a missing image.
    append(
        &src.join("01-apples/README.md"),
        "\n<script>plantedUndefinedFunction();</script>\n\n\
         <script>console.error('planted console error');</script>\n\n\
         <img src=\"planted-missing.png\" alt=\"\">\n",
    );
    // A fold closed before its content, and one without a summary.
    append(
        &src.join("01-apples/under-the-hood.md"),
        "\n<details><summary>Planted empty fold</summary></details>\n\nLeft outside.\n\n\
         <details>\n\nNo summary here.\n\n</details>\n",
    );
    // Box drawings: one with a glyph in another font (a proportional one,
    // as a fallback font would be), one with a zero-width space, one with
    // a CJK character and an emoji (two columns wide where a font has them;
    // without one, Chromium draws a one-column box, so these are caught by
    // their code points, not measured).
    append(
        &src.join("02-pears/README.md"),
        "\n<pre><code>┌───┐\n│ <span style=\"font-family: 'DejaVu Sans', sans-serif\">W</span> │\n└───┘\n</code></pre>\n\n\
         ```text\n┌───┐\n│ a\u{200b} │\n└───┘\n```\n\n\
         ```text\n┌────┐\n│ 梨 │\n│ 🍐 │\n└────┘\n```\n",
    );
    // A table far wider than the content column.
    let wide_row = |cell: &str| format!("| {} |\n", [cell; 12].join(" | "));
    append(
        &src.join("02-pears/README.md"),
        &format!(
            "\n{}{}{}",
            wide_row("heading"),
            wide_row("---"),
            wide_row("unbreakable_long_cell_content")
        ),
    );
    // A blank page where a screenshot is taken.
    append(
        &src.join("introduction.md"),
        "\n<style>body { visibility: hidden; }</style>\n",
    );
    let (passed, output) = check(
        &scratch,
        &["--search-term", "02-pears/README.md=plantedabsentword"],
    );
    assert!(!passed, "the planted book passed:\n{output}");
    for expected in [
        "FAIL  console and requests",
        "01-apples/README.html: uncaught exception",
        "plantedUndefinedFunction is not defined",
        "01-apples/README.html: console error: planted console error",
        "planted-missing.png (404",
        "FAIL  folds: 2 problem(s)",
        "(\"Planted empty fold\") opens to nothing",
        "has no <summary> to click",
        "FAIL  box drawings: 4 problem(s)",
        "code block 4, line 2 (\"│ 梨 │\") has \"梨\", two columns wide",
        "code block 4, line 3 (\"│ 🍐 │\") has \"🍐\", two columns wide",
        "02-pears/README.html: code block 2, line 2 (\"│ W │\")",
        "02-pears/README.html: code block 3, line 2 (\"│ a\u{200b} │\")",
        "(-1.00 characters)",
        "FAIL  tables: 1 problem(s)",
        "02-pears/README.html: table 1",
        "FAIL  search: 1 problem(s)",
        "searching \"plantedabsentword\" does not list this page",
        "FAIL  screenshots: 1 problem(s)",
        "introduction.png: looks blank",
    ] {
        assert!(output.contains(expected), "no `{expected}` in:\n{output}");
    }
}
