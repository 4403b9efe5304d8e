#!/bin/sh
# `--help` grows as chapters are compiled in, so tests/frame.rs keeps one
# snapshot of it per stage. After changing a flag or a verb, regenerate them:
#   scripts/update-help-snapshots.sh
# then review the diff with `git diff tests/snapshots`.
set -eu
cd "$(dirname "$0")/.."
INSTA_UPDATE=always cargo test -q --test frame -- help
for n in 1 2 3 4 5 6 7 8; do
    INSTA_UPDATE=always cargo test -q --features "stage$n" --test frame -- help
done
