#!/bin/sh
# `--help` grows as chapters are compiled in, so tests/course/frame.rs keeps
# one snapshot of it per stage (tests/course/snapshots/, course__frame__help@
# stageN.snap and course__frame__run_help@stageN.snap). After changing a flag
# or a verb, regenerate them:
#   scripts/update-help-snapshots.sh
# then review the diff with `git diff tests/course/snapshots`.
set -eu
cd "$(dirname "$0")/.."
INSTA_UPDATE=always cargo test -q --test course -- frame::help frame::run_help
for n in 1 2 3 4 5 6 7 8; do
    INSTA_UPDATE=always cargo test -q --features "stage$n" --test course -- frame::help frame::run_help
done
# After the last chapter, with the OCI runtime's verbs (`stage8-oci`).
INSTA_UPDATE=always cargo test -q --features full --test course -- frame::help frame::run_help
