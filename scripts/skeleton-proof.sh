#!/usr/bin/env bash
# The skeleton proof: no stage test passes by accident, and every exercise
# is pinned by the tests.
#   scripts/skeleton-proof.sh          (as root, or it re-runs itself with sudo)
#   scripts/skeleton-proof.sh 4 6      (chapters 4 and 6 only)
#
# A chapter may have an optional exercise (see book/README.md): its files
# are chapters/NN-*/extra*.rs, its tests tests/course/extraN_*.rs, and the
# feature extraN switches it on. It is proved like a chapter, on top of
# its chapter solved: features stageN,extraN,solved1..N (and, for the
# wrong answers, solved-extraN: the extra's own solution).
#
# 0. Given code. What the exercise files give the student outside the
#    exercise functions (constants, helpers such as mount_at) is the same
#    in chapters/ and solutions/.
# a. Untouched exercises. For every chapter N, with chapters 1..N-1 taken
#    from the reference (solvedK) and chapter N left as it is:
#      * every test in tests/course/stageN_*.rs fails, and fails for the
#        right reason: its output names `unfinished exercise at chapters/0N`;
#      * the frame's tests (tests/course/frame.rs) still pass.
#    Both in one run of the test program, `course`, with name filters
#    (`stageN_topic::` and `frame::`).
# b. One function at a time. For every exercise function, the reference
#    with only that function put back as the exercise (its todo!()) fails
#    at least one test of its chapter. A section of declarations (marked
#    `// EXERCISE: declarations`, see exercise_anchors) put back as given
#    must fail to compile instead: the solved functions use what it leaves
#    out, and the compiler names each missing item.
# c. Wrong answers. Each tests/mutants/NN-topic/NAME.patch is a plausible
#    student mistake, applied to the reference; the test named on its
#    `Caught-by:` line must fail.
# (b) and (c) build in a copy of the project under target/mutants, with one
# target directory for all of them: each mutant recompiles bocker and
# relinks the test program, then runs the chapter's tests (b) or the one
# test named (c), by name.
# Tests run 16 at a time, as the reference suite does (they are written to
# be independent): most of this script's time is waiting for tests.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$self" "$@"
fi
if ! git diff --quiet -- chapters solutions tests/mutants 2>/dev/null; then
    echo "skeleton-proof: note: chapters/, solutions/ or tests/mutants/ have local changes; they are what is proved" >&2
fi
export INSTA_UPDATE=no RUST_BACKTRACE=0
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }
status=0
fail() { echo "   FAIL: $*"; status=1; }

# Sum the counts of every "test result:" line in a cargo test log.
count() { # count LOG passed|failed
    grep -E '^test result:' "$1" | sed -E "s/.* ([0-9]+) $2.*/\1/" | awk '{s+=$1} END {print s+0}'
}

# How many tests of module MODULE (a file of tests/course/) a cargo test log
# reports as ok, or as FAILED: lines `test MODULE::NAME ... ok`.
results() { # results LOG MODULE ok|FAILED
    grep -cE "^test $2::[A-Za-z0-9_]+ \.\.\. $3\$" "$1" || true
}

# The anchors of an exercise file whose section holds a todo!() (the
# exercise functions) or the marker comment `// EXERCISE: declarations`
# (a section of declarations the student writes: structs, constants,
# ioctl macros; it has no body to leave as todo!()).
exercise_anchors() { # exercise_anchors CHAPTER_FILE
    awk '
        /\/\/ ANCHOR: / { name = $NF; body = ""; inside = 1; next }
        /\/\/ ANCHOR_END: / { if (inside && (body ~ /todo!\(/ || body ~ /\/\/ EXERCISE: declarations/)) print name; inside = 0; next }
        inside { body = body $0 "\n" }
    ' "$1"
}

# Of those, the sections of declarations only.
declaration_anchors() { # declaration_anchors CHAPTER_FILE
    awk '
        /\/\/ ANCHOR: / { name = $NF; body = ""; inside = 1; next }
        /\/\/ ANCHOR_END: / { if (inside && body ~ /\/\/ EXERCISE: declarations/) print name; inside = 0; next }
        inside { body = body $0 "\n" }
    ' "$1"
}

# The file with the exercise sections (named in ANCHORS), module docs,
# top-level plain comments, inner attributes, `use` lines and blank lines
# left out: what is given.
given_code() { # given_code FILE "ANCHORS"
    awk -v anchors=" $2 " '
        /\/\/ ANCHOR: / { if (index(anchors, " " $NF " ")) skip = 1; next }
        /\/\/ ANCHOR_END: / { skip = 0; next }
        skip { next }
        in_use { if ($0 ~ /;[[:space:]]*$/) in_use = 0; next }
        /^use / { if ($0 !~ /;[[:space:]]*$/) in_use = 1; next }
        /^\/\/!/ || /^\/\/ / || /^#!\[/ || /^[[:space:]]*$/ { next }
        { print }
    ' "$1"
}

# SOLUTION with the section ANCHOR replaced by the same section of CHAPTER.
splice() { # splice CHAPTER SOLUTION ANCHOR
    awk -v anchor="$3" '
        FNR == NR {
            if ($0 ~ "// ANCHOR: " anchor "$") { inside = 1; next }
            if ($0 ~ "// ANCHOR_END: " anchor "$") { inside = 0; next }
            if (inside) body = body $0 "\n"
            next
        }
        $0 ~ "// ANCHOR: " anchor "$" { print; printf "%s", body; skip = 1; next }
        $0 ~ "// ANCHOR_END: " anchor "$" { skip = 0 }
        !skip { print }
    ' "$1" "$2"
}

chapter_dirs=$(ls -d chapters/[0-9][0-9]-*/ | sed 's#/$##' | grep -v '/00-')
# Chapters named on the command line: only those are proved.
wanted() { # wanted N
    [ -z "$only" ] && return 0
    case " $only " in *" $((10#$1)) "*) return 0 ;; esac
    return 1
}
only="$*"
if [ -n "$only" ]; then
    keep=""
    for dir in $chapter_dirs; do
        n=${dir#chapters/}; n=${n%%-*}
        wanted "$n" && keep="$keep $dir"
    done
    chapter_dirs=$keep
fi

# The test module of an exercise file: extra*.rs belongs to the optional
# exercise's module (extraN_*), any other file to the chapter's (stageN_*).
module_of() { # module_of CHAPTER_FILE
    local n
    n=${1#chapters/}; n=$((10#${n%%-*}))
    case "$(basename "$1")" in
        extra*) basename "$(ls tests/course/extra"$n"_*.rs)" .rs ;;
        *) basename "$(ls tests/course/stage"$n"_*.rs)" .rs ;;
    esac
}

echo "== 0. given code is the same in chapters/ and solutions/ ($(elapsed))"
for dir in $chapter_dirs; do
    for file in "$dir"/*.rs; do
        solution=solutions/${file#chapters/}
        [ -f "$solution" ] || continue
        anchors=$(exercise_anchors "$file" | tr '\n' ' ')
        if diff <(given_code "$file" "$anchors") <(given_code "$solution" "$anchors") >/tmp/given.$$ 2>&1; then
            echo "   ok: $file"
        else
            fail "$file and $solution differ outside the exercises:"
            sed 's/^/     | /' /tmp/given.$$
        fi
        rm -f /tmp/given.$$
    done
done

echo "== a. untouched exercises fail every test of their stage, for the right reason ($(elapsed))"
solved=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for test_file in tests/course/stage[0-9]_*.rs tests/course/extra[0-9]_*.rs; do
    [ -f "$test_file" ] || continue # no optional exercise yet: the pattern stays
    module=$(basename "$test_file" .rs)      # stage2_namespaces, extra5_ports
    n=${module#stage}; n=${n#extra}; n=${n%%_*} # 2
    chapter=$(ls -d chapters/0"$n"-* | head -n 1)
    case "$module" in
        # The optional exercise: its chapter solved, the extra untouched.
        extra*) features="stage$n,extra$n$(seq -s '' -f ',solved%g' 1 "$n")" ;;
        *) features="stage$n$solved" ;;
    esac
    if ! wanted "$n"; then
        [ "${module%%_*}" = "stage$n" ] && solved="$solved,solved$n"
        continue
    fi
    # The chapter's tests and the frame's, in one run of the test program.
    cargo test --features "$features" --test course -- --test-threads=16 "$module::" frame:: >"$log" 2>&1 || true
    passed=$(results "$log" "$module" ok); failed=$(results "$log" "$module" FAILED)
    declared=$(grep -c '^#\[test\]' "$test_file")
    if [ "$passed" -eq 0 ] && [ "$failed" -eq "$declared" ] && [ "$failed" -gt 0 ]; then
        echo "   ok: all $failed tests of $module fail on the untouched $chapter"
    else
        fail "$module on the untouched exercise: $passed passed, $failed failed (of $declared)"
        grep -E "^test $module::.* ok\$" "$log" | sed 's/^/     passed anyway: /' || true
        tail -5 "$log" | sed 's/^/     | /'
    fi
    # Each failure's own output must name the unfinished exercise.
    wrong=$(awk -v want="unfinished exercise at $chapter/" '
        /^---- .* stdout ----$/ { if (test != "" && !seen) print test; test = $2; seen = 0; next }
        /^failures:$/ { if (test != "" && !seen) print test; test = ""; next }
        test != "" && index($0, want) { seen = 1 }
    ' "$log" | grep "^$module::" || true)
    if [ -n "$wrong" ]; then
        fail "these tests of $module failed without naming 'unfinished exercise at $chapter/':"
        echo "$wrong" | sed 's/^/     | /'
    else
        echo "   ok: each names 'unfinished exercise at $chapter/'"
    fi
    frame_passed=$(results "$log" frame ok); frame_failed=$(results "$log" frame FAILED)
    if [ "$frame_failed" -eq 0 ] && [ "$frame_passed" -gt 0 ]; then
        echo "   ok: the frame's $frame_passed tests pass with $chapter untouched"
    else
        fail "the frame's tests at stage $n: $frame_passed passed, $frame_failed failed"
        grep -E '^test frame::.* FAILED$' "$log" | head -10 | sed 's/^/     | /'
    fi
    [ "${module%%_*}" = "stage$n" ] && solved="$solved,solved$n"
done

# ---------------------------------------------------------------- mutants
repo=$PWD
tree=$PWD/target/mutants/tree
export CARGO_TARGET_DIR=$PWD/target/mutants/target
# Without debug information the many builds below link faster (a test's
# report names the exercise from the panic's location, which needs none).
export CARGO_PROFILE_DEV_DEBUG=0
rm -rf "$tree"
mkdir -p "$tree"
# The project's files as they are now (tracked, and new ones not ignored).
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tree"
pristine=$(mktemp -d)
cp -r solutions "$pristine/"

# Put every solution file back as it is (with a new modification time, so
# that cargo rebuilds), then apply the change given on stdin.
reset_tree() {
    rm -rf "$tree/solutions"
    cp -r "$pristine/solutions" "$tree/solutions"
}

# The features of the stage a test module belongs to, every chapter solved:
# stage3_mounts → stage3,solved1,solved2,solved3. (Not `reference`: from
# chapter 3 on, chapter 1's chroot is no longer called.)
# An optional exercise's module adds its features: extra5_ports →
# stage5,extra5,solved1,…,solved5,solved-extra5.
stage_features() { # stage_features MODULE
    local n=${1#stage}
    n=${n#extra}
    n=${n%%_*}
    case "$1" in
        extra*) echo "stage$n,extra$n$(seq -s '' -f ',solved%g' 1 "$n"),solved-extra$n" ;;
        *) echo "stage$n$(seq -s '' -f ',solved%g' 1 "$n")" ;;
    esac
}

# run_mutant MODULE [TEST]: build, then run the tests of MODULE (a file of
# tests/course/), or only MODULE::TEST; sets $outcome to "caught",
# "missed" or "does not compile".
run_mutant() {
    local features
    features=$(stage_features "$1")
    # Only what the test runs: bocker and the test program (not the unit
    # tests of src/).
    if ! (cd "$tree" && cargo build --quiet --features "$features" --bin bocker --test course >"$log" 2>&1); then
        outcome="does not compile"
        return
    fi
    if [ -n "${2:-}" ]; then
        (cd "$tree" && cargo test --features "$features" --test course -- --exact "$1::$2") >"$log" 2>&1 || true
    else
        (cd "$tree" && cargo test --features "$features" --test course -- --test-threads=16 "$1::") >"$log" 2>&1 || true
    fi
    if [ "$(count "$log" failed)" -gt 0 ]; then outcome=caught; else outcome=missed; fi
}

echo "== b. each exercise function, alone put back as the exercise, fails a test ($(elapsed))"
for dir in $chapter_dirs; do
    for file in "$dir"/*.rs; do
        solution=solutions/${file#chapters/}
        [ -f "$solution" ] || continue
        module=$(module_of "$file")
        for anchor in $(exercise_anchors "$file"); do
            reset_tree
            splice "$file" "$solution" "$anchor" >"$tree/$solution"
            run_mutant "$module"
            if [ "$outcome" = caught ]; then
                failed=$(count "$log" failed)
                first=$(grep -E '^test .* FAILED$' "$log" | awk '{print $2}' | sort | head -n 2 | tr '\n' ' ' || true)
                echo "   ok: $file: $anchor → $failed tests of $module fail (${first}…)"
            elif [ "$outcome" = "does not compile" ] && declaration_anchors "$file" | grep -qx "$anchor"; then
                # Left out, declarations are missed by the compiler: the
                # exercise functions name what is not declared.
                missing=$(grep -oE 'cannot find [a-z, ]+ `[A-Za-z0-9_]+`' "$log" | grep -oE '`[A-Za-z0-9_]+`' | sort -u | tr '\n' ' ' || true)
                echo "   ok: $file: $anchor left as given does not compile (missing: ${missing:-see the build})"
            else
                fail "$file: $anchor put back as todo!() is $outcome by $module"
            fi
        done
    done
done

echo "== c. plausible wrong answers are caught by the tests named for them ($(elapsed))"
for patch in tests/mutants/*/*.patch; do
    topic=$(basename "$(dirname "$patch")") # 04-cgroups
    wanted "${topic%%-*}" || continue
    caught_by=$(sed -n 's/^Caught-by: //p' "$patch") # stage1_chroot::the_root_is_the_images_root
    module=${caught_by%%::*}
    test_name=${caught_by#*::}
    reset_tree
    # git apply works outside a repository too, as a strict `patch`.
    if ! (cd "$tree" && git apply "$repo/$patch") >"$log" 2>&1; then
        fail "$patch does not apply to the reference"
        continue
    fi
    run_mutant "$module" "$test_name"
    if [ "$outcome" = caught ]; then
        echo "   ok: $(basename "$(dirname "$patch")")/$(basename "$patch" .patch): $(head -n 1 "$patch") → caught by $caught_by"
    else
        fail "$patch is $outcome by $caught_by"
        tail -5 "$log" | sed 's/^/     | /'
    fi
done
rm -rf "$pristine"

echo "== done in $(elapsed)"
if [ "$status" -eq 0 ]; then
    echo "skeleton proof: ok"
else
    echo "skeleton proof: FAILED" >&2
fi
exit "$status"
