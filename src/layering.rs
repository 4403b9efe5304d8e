//! The layers of `src/` (see lib.rs), checked: a module may use modules of
//! its own layer and of the layers below, never one above. A state module
//! that called the runtime, say, would make a circle (the runtime uses the
//! state), and the frame would stop reading top to bottom.
//!
//! The check reads the sources: every `crate::NAME` and `super::…::NAME`
//! that reaches a top-level module, also inside `use crate::{…}` groups,
//! in `src/` and in the chapters' files (each counts as part of the folder
//! that includes it with `#[path = …]`). Comments are left out.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use its own layer and the
/// layers before it.
const LAYERS: &[&[&str]] = &[
    // Helpers every layer may use.
    &["errors", "escape", "table", "template", "course"],
    // Plain data.
    &["spec"],
    &["storage"],
    &["state"],
    // The runtime and the registry client: neither uses the other.
    &["runtime"],
    &["registry"],
    &["cli"],
    &["commands"],
];

/// Layers that sit side by side: neither may use the other, although one
/// comes first in [`LAYERS`].
const SIDE_BY_SIDE: &[(&str, &str)] = &[("registry", "runtime")];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// May `from` name `to`?
fn allowed(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    if SIDE_BY_SIDE
        .iter()
        .any(|(a, b)| (from, to) == (a, b) || (from, to) == (b, a))
    {
        return false;
    }
    match (layer_of(from), layer_of(to)) {
        // The helpers use each other; nothing else below them exists.
        (Some(0), Some(0)) => true,
        (Some(f), Some(t)) => t < f,
        _ => true, // not a top-level module: a crate or a local name
    }
}

/// Each use of one top-level module by another: (file, line, from, to).
type Use = (PathBuf, usize, String, String);

/// The top-level module a file of src/ belongs to, and its module path
/// (for `super::`): `src/state/store.rs` → ["state", "store"].
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

/// The code of a line, without its comment.
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(at) => &line[..at],
        None => line,
    }
}

/// The words that follow `crate::`, in `text`: `crate::state::Store` gives
/// `state`; `crate::{spec::Network, state}` gives `spec` and `state`.
fn crate_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = &rest[..at];
        rest = &rest[at + "crate::".len()..];
        // `$crate::` and `my_crate::` are not ours.
        if before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            names.extend(group_names(group));
        } else {
            names.push(word(rest));
        }
    }
    names
}

/// The first names at depth 0 of a `{a::b, c, d::{e, f}}` group.
fn group_names(group: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0;
    let mut expecting = true;
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => expecting = true,
            c if expecting && depth == 0 && (c.is_alphanumeric() || c == '_') => {
                names.push(word(&group[at..]));
                expecting = false;
            }
            _ => {}
        }
    }
    names
}

fn word(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules that `super::` chains in `code` reach, from a file
/// whose module path is `path`.
fn super_names(code: &str, path: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        let before = &rest[..at];
        rest = &rest[at..];
        if before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            // The middle of a chain already counted.
            rest = &rest["super::".len()..];
            continue;
        }
        let mut ups = 0;
        while let Some(after) = rest.strip_prefix("super::") {
            ups += 1;
            rest = after;
        }
        // Only a chain that climbs to the crate's root names a top-level
        // module; one that stays inside the folder names its own.
        if ups == path.len() {
            names.push(word(rest));
        }
    }
    names
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Every use across top-level modules in src/ and the chapters' files.
fn uses_across(root: &Path) -> Vec<Use> {
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut uses = Vec::new();
    let mut included = Vec::new();
    for file in &files {
        let path = module_path(&src, file);
        let Some(top) = path.first().cloned() else {
            continue; // lib.rs, main.rs: the crate's root
        };
        let text = fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = code_of(line);
            // A chapter's file, compiled as a module of this folder.
            if let Some(at) = code.find("path = \"") {
                let target = &code[at + "path = \"".len()..];
                let target = &target[..target.find('"').unwrap()];
                included.push((file.parent().unwrap().join(target), top.clone()));
            }
            for to in crate_names(code)
                .into_iter()
                .chain(super_names(code, &path))
            {
                if layer_of(&to).is_some() && to != top {
                    uses.push((file.clone(), number + 1, top.clone(), to));
                }
            }
        }
    }
    for (file, top) in included {
        // A copy of the course may lack solutions/ (a student's): what is
        // not there uses nothing.
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for (number, line) in text.lines().enumerate() {
            for to in crate_names(code_of(line)) {
                if layer_of(&to).is_some() && to != top {
                    uses.push((file.clone(), number + 1, top.clone(), to));
                }
            }
        }
    }
    uses
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wrong: Vec<String> = uses_across(root)
        .into_iter()
        .filter(|(_, _, from, to)| !allowed(from, to))
        .map(|(file, line, from, to)| {
            let file = file.strip_prefix(root).unwrap_or(&file).display();
            format!("{file}:{line}: `{from}` uses `{to}`, a layer above it or beside it")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "the layers of src/ (lib.rs) are broken:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeSet::new();
    for entry in fs::read_dir(&src).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let name = name.trim_end_matches(".rs").to_string();
        if !["lib", "main", "layering"].contains(&name.as_str()) {
            modules.insert(name);
        }
    }
    let missing: Vec<&String> = modules.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "top-level modules with no layer in layering.rs: {missing:?}"
    );
}

#[test]
fn the_reader_finds_uses_in_each_form() {
    assert_eq!(crate_names("use crate::state::Store;"), ["state"]);
    assert_eq!(
        crate_names("use crate::{spec::Network, state};"),
        ["spec", "state"]
    );
    assert_eq!(
        crate_names("crate::runtime::cgroup::existing(id).or(crate::spec::x)"),
        ["runtime", "spec"]
    );
    assert!(crate_names("use other_crate::state;").is_empty());
    let store = ["state".to_string(), "store".to_string()];
    assert_eq!(
        super_names("use super::super::runtime::x;", &store),
        ["runtime"]
    );
    assert!(super_names("use super::ids;", &store).is_empty());
    assert!(allowed("runtime", "state"));
    assert!(!allowed("state", "runtime"));
    assert!(!allowed("registry", "runtime"));
    assert!(!allowed("spec", "storage"));
}
