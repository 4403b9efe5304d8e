#!/usr/bin/env bash
# Build the book and check what mdBook lets slip through:
#   scripts/check-book.sh
#
# mdBook exits 0 when an included file is missing (it logs an ERROR) and
# when an include names an anchor its file lacks (the code block is silently
# empty). So this script fails on:
#   * any ERROR or WARN line in the build log;
#   * any `{{#` left in the built HTML (an include that was not expanded);
#   * any {{#include PATH}} whose PATH does not exist, relative to the page;
#   * any {{#include PATH:ANCHOR}} whose file has no `ANCHOR: ANCHOR` (or no
#     `ANCHOR_END: ANCHOR`);
#   * any link between pages whose page or #fragment does not exist;
#   * any file or folder of the project that a page or README.md names in
#     backquotes (`src/runtime/exec.rs`, `tests/`, `scripts/demo.sh`) and
#     that does not exist: files move, and the text must follow;
#   * a chapter that is not a lesson (section 6 says what one has).
# It prints every problem it finds, then exits 1; or prints "book ok".
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v mdbook >/dev/null 2>&1; then
    echo "check-book: mdbook not found; install it with: cargo install mdbook --locked" >&2
    exit 1
fi

problems=0
problem() {
    echo "check-book: $*" >&2
    problems=$((problems + 1))
}

# 1. Build, keeping the log.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! mdbook build book >"$log" 2>&1; then
    cat "$log" >&2
    problem "mdbook build failed"
fi
if grep -E 'ERROR|WARN' "$log" >/dev/null; then
    grep -E 'ERROR|WARN' "$log" >&2
    problem "the mdbook build log has errors or warnings (above)"
fi

# 2. Nothing unexpanded in the HTML.
if [ -d book/build ]; then
    while IFS= read -r html; do
        problem "$html contains '{{#': an include or other directive was not expanded"
    done < <(grep -rlF --include='*.html' '{{#' book/build || true)
else
    problem "book/build was not created"
fi

# 3. Every include names an existing file, and an anchor that file has.
anchor_re() {
    # The anchor name as a whole word: mdBook's names are [A-Za-z0-9_-].
    printf '%s' "$1" | sed 's/[.[\*^$/]/\\&/g'
}
while IFS= read -r -d '' page; do
    dir=$(dirname "$page")
    # {{#include …}} and {{#rustdoc_include …}}, but not escaped \{{#…}}.
    while IFS= read -r directive; do
        case "$directive" in
            \\*) continue ;;
        esac
        spec=${directive#*\{\{\#}
        spec=${spec#include}
        spec=${spec#rustdoc_include}
        spec=${spec%\}\}}
        # Trim spaces around the argument.
        spec=$(printf '%s' "$spec" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
        path=${spec%%:*}
        if [ "$path" = "$spec" ]; then
            selector=""
        else
            selector=${spec#*:}
        fi
        file="$dir/$path"
        if [ ! -f "$file" ]; then
            problem "$page: {{#include $spec}}: $file does not exist"
            continue
        fi
        # PATH:10:20, PATH:10:, PATH::20 and PATH:10 are line ranges, not anchors.
        if [ -z "$selector" ] || [[ "$selector" =~ ^[0-9]*(:[0-9]*)?$ ]]; then
            continue
        fi
        name=$(anchor_re "$selector")
        if ! grep -Eq "ANCHOR:[[:space:]]*${name}([^A-Za-z0-9_-]|\$)" "$file"; then
            problem "$page: {{#include $spec}}: $file has no 'ANCHOR: $selector'"
        elif ! grep -Eq "ANCHOR_END:[[:space:]]*${name}([^A-Za-z0-9_-]|\$)" "$file"; then
            problem "$page: {{#include $spec}}: $file has no 'ANCHOR_END: $selector'"
        fi
    done < <(grep -oE '\\?\{\{#(include|rustdoc_include)[[:space:]][^}]*\}\}' "$page" || true)
done < <(find chapters -name '*.md' -print0)

# 4. Every link between pages leads to a page that was built, and every
#    #fragment to an id on that page. mdBook turns `page.md` into
#    `page.html`; links to outside the book (http...) are not checked.
while IFS= read -r -d '' page; do
    rel=${page#chapters/}
    while IFS= read -r target; do
        case "$target" in
            http://* | https://* | mailto:*) continue ;;
        esac
        file=${target%%#*}
        fragment=""
        [ "$file" != "$target" ] && fragment=${target#*#}
        if [ -z "$file" ]; then
            html="book/build/${rel%.md}.html"
        else
            html=$(realpath -m "book/build/$(dirname "$rel")/${file%.md}.html")
        fi
        if [ ! -f "$html" ]; then
            problem "$page: link to '$target': ${html#"$PWD/"} was not built"
        elif [ -n "$fragment" ] && ! grep -q "id=\"$fragment\"" "$html"; then
            problem "$page: link to '$target': no id '$fragment' on that page"
        fi
    done < <(grep -oE '\]\([^)[:space:]]+\)' "$page" | sed -E 's/^\]\((.*)\)$/\1/' || true)
done < <(find chapters -name '*.md' ! -name SUMMARY.md -print0)

# 5. Every path of the project named in backquotes exists. Only paths from
#    the project's root (src/, tests/, scripts/, chapters/, solutions/,
#    book/, .ci/) are checked, and not patterns (`chapters/NN-*/…rs`).
while IFS= read -r -d '' page; do
    while IFS=: read -r line path; do
        case "$path" in
            *'*'* | *'…'* | *NN* | *'<'* | *'{'* | *'$'*) continue ;;
        esac
        path=${path%%:*} # chapters/01-chroot/chroot.rs:20:5: the file
        if [ ! -e "$path" ]; then
            problem "$page:$line: names \`$path\`, which does not exist"
        fi
    done < <(grep -noE '`(src|tests|scripts|chapters|solutions|book|\.ci)/[^` ]*`' "$page" |
        sed -E 's/^([0-9]+):`(.*)`$/\1:\2/' || true)
done < <(find chapters -name '*.md' -print0; printf 'README.md\0')

# 6. Every chapter is a lesson (chapters 01 and up; 00-setup is not one):
#    * its core page, README.md, has at most 550 lines: what a student
#      reads in about 30 minutes;
#    * it has an "Under the hood" page, under-the-hood.md, that the core
#      links to and SUMMARY.md lists just below the chapter (indented);
#    * the core ends with "## What you built" and "## Check yourself",
#      whose questions (three to five) keep their answers in <details>;
#    * every exercise's hints come in three folds, "Hint 1" (the idea),
#      "Hint 2" (the calls and flags) and "Hint 3" (the code); a chapter
#      of pages only, with no exercise file (*.rs) in its folder (the
#      epilogue), may have none, but any hints it has come in threes too;
#    * every test of the chapter's module (tests/course/stageN_*.rs) is
#      named on its core page, and every test of an optional exercise
#      (tests/course/extraN_*.rs) on the chapter's extra.md.
#    And on every page: a ```rust block is marked `ignore`, so that
#    `mdbook test` does not try to compile an exercise out of its crate.
names_of_tests() {
    # The function after each #[test], whatever attributes come between.
    awk '/^#\[test\]/ {want=1; next} want && /^(pub )?fn / {sub(/^(pub )?fn /, ""); sub(/\(.*/, ""); print; want=0}' "$1"
}
for dir in chapters/[0-9][0-9]-*/; do
    dir=${dir%/}
    chapter=${dir#chapters/}
    number=${chapter%%-*}
    [ "$number" = "00" ] && continue
    core="$dir/README.md"
    [ -f "$core" ] || { problem "$dir has no README.md"; continue; }
    lines=$(wc -l <"$core")
    [ "$lines" -le 550 ] || problem "$core has $lines lines; a chapter's core has at most 550 (move the frame's details to under-the-hood.md)"
    if [ ! -f "$dir/under-the-hood.md" ]; then
        problem "$dir has no under-the-hood.md"
    else
        grep -q '(under-the-hood\.md' "$core" || problem "$core does not link to under-the-hood.md"
        grep -A1 -F "]($chapter/README.md)" chapters/SUMMARY.md | tail -n 1 |
            grep -Eq "^[[:space:]]+- \[.*\]\($chapter/under-the-hood\.md\)" ||
            problem "chapters/SUMMARY.md does not list $chapter/under-the-hood.md just below the chapter, indented"
    fi
    grep -q '^## What you built$' "$core" || problem "$core has no '## What you built'"
    if ! grep -q '^## Check yourself$' "$core"; then
        problem "$core has no '## Check yourself'"
    else
        questions=$(sed -n '/^## Check yourself$/,/^## /p' "$core" | grep -c '^<details>' || true)
        if [ "$questions" -lt 3 ] || [ "$questions" -gt 5 ]; then
            problem "$core: 'Check yourself' has $questions folded answers; it needs three to five"
        fi
    fi
    exercises=$(find "$dir" -maxdepth 1 -name '*.rs' | wc -l)
    for page in "$core" "$dir/extra.md"; do
        [ -f "$page" ] || continue
        one=$(grep -c '<summary>Hint 1' "$page" || true)
        two=$(grep -c '<summary>Hint 2' "$page" || true)
        three=$(grep -c '<summary>Hint 3' "$page" || true)
        if { [ "$one" -eq 0 ] && [ "$exercises" -gt 0 ]; } || [ "$one" -ne "$two" ] || [ "$one" -ne "$three" ]; then
            problem "$page: hints come in three folds per exercise (Hint 1, 2, 3); found $one, $two and $three"
        fi
    done
    for tests in tests/course/stage$((10#$number))_*.rs tests/course/extra$((10#$number))_*.rs; do
        [ -f "$tests" ] || continue
        case "$tests" in
            */extra*) page="$dir/extra.md" ;;
            *) page="$core" ;;
        esac
        while IFS= read -r test; do
            grep -qF "$test" "$page" 2>/dev/null || problem "$page does not name the test $test (${tests})"
        done < <(names_of_tests "$tests")
    done
done
while IFS= read -r -d '' page; do
    while IFS=: read -r line fence; do
        problem "$page:$line: '$fence' is not marked ignore (write \`\`\`rust,ignore)"
    done < <(grep -nE '^[[:space:]]*```rust' "$page" | grep -v 'ignore' || true)
done < <(find chapters -name '*.md' -print0)

if [ "$problems" -gt 0 ]; then
    echo "check-book: $problems problem(s)" >&2
    exit 1
fi
echo "book ok"
