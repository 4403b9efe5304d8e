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
#     that does not exist: files move, and the text must follow.
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

if [ "$problems" -gt 0 ]; then
    echo "check-book: $problems problem(s)" >&2
    exit 1
fi
echo "book ok"
