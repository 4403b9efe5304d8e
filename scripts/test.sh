#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   sudo scripts/test.sh
# formatting and lints, the frame's tests, every stage against the
# reference, the skeleton proof, the book, and a final check for leaks.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$0" "$@"
fi
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy (frame only, and reference) -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
cargo clippy --quiet --all-targets --features reference -- -D warnings

step "the frame's tests (no chapter compiled in)"
cargo test

step "every test against the reference runtime"
cargo test --features reference

step "the skeleton proof"
scripts/skeleton-proof.sh

step "the book"
scripts/check-book.sh

step "book transcripts are current"
scripts/transcripts.sh --check

step "leak check"
scripts/check-leaks.sh

step "all green"
