#!/usr/bin/env bash
# The skeleton proof: no stage test passes by accident.
#
# For every chapter N that exists, build with chapters 1..N-1 taken from the
# reference (solvedK) and chapter N left as the untouched exercise. Then
#   * every test in tests/stageN_*.rs must FAIL (the exercise's todo!() is
#     reached by each of them), and
#   * the frame's tests must still PASS (they never depend on a chapter).
# The full suite under `--features reference` (scripts/test.sh) shows that
# the same stage tests all pass with the solutions.
#
# Run from anywhere, as root (or through the cargo runner's sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! git diff --quiet -- chapters; then
    echo "skeleton-proof: chapters/ has local changes; the proof needs the untouched exercises" >&2
    exit 1
fi

# Sum the counts of every "test result:" line in a cargo test log.
count() { # count LOG passed|failed|ignored
    grep -E '^test result:' "$1" | sed -E "s/.* ([0-9]+) $2.*/\1/" | awk '{s+=$1} END {print s+0}'
}

status=0
solved=""
for test_file in tests/stage[0-9]_*.rs; do
    name=$(basename "$test_file" .rs)        # stage2_namespaces
    n=${name#stage}; n=${n%%_*}              # 2
    features="stage$n$solved"
    log=$(mktemp)

    echo "== stage $n: --features $features, chapter $n untouched"
    cargo test --no-fail-fast --features "$features" --test "$name" >"$log" 2>&1 || true
    passed=$(count "$log" passed); failed=$(count "$log" failed); ignored=$(count "$log" ignored)
    declared=$(grep -c '^#\[test\]' "$test_file")
    if [ "$passed" -eq 0 ] && [ "$ignored" -eq 0 ] && [ "$failed" -eq "$declared" ] && [ "$failed" -gt 0 ]; then
        echo "   ok: all $failed tests of $name fail on the untouched exercise"
    else
        echo "   FAIL: $name on the untouched exercise: $passed passed, $failed failed, $ignored ignored (of $declared)"
        grep -E '^test .* ok$' "$log" | sed 's/^/     passed anyway: /' || true
        tail -5 "$log" | sed 's/^/     | /'
        status=1
    fi

    cargo test --features "$features" --test frame >"$log" 2>&1 && frame_ok=1 || frame_ok=0
    if [ "$frame_ok" -eq 1 ] && [ "$(count "$log" failed)" -eq 0 ]; then
        echo "   ok: the frame's tests pass at stage $n"
    else
        echo "   FAIL: the frame's tests fail at stage $n"
        grep -E 'FAILED|panicked' "$log" | head -10 | sed 's/^/     | /'
        status=1
    fi
    rm -f "$log"
    solved="$solved,solved$n"
done

if [ "$status" -eq 0 ]; then
    echo "skeleton proof: ok"
else
    echo "skeleton proof: FAILED" >&2
fi
exit "$status"
