#!/usr/bin/env bash
# Benchmark: how long does starting a container take, whole process?
#   scripts/bench.sh [RUNS]          (default 30 runs per command)
#   BOCKER_BASELINE=/path/to/bocker scripts/bench.sh
#                                    (also times another build, to compare)
#
# One hyperfine session, so that every line is measured under the same
# conditions, and a table of medians with each one's ratio to the floor:
#   * the floor: `unshare -fmuipn --mount-proc true`, the same namespaces
#     made by util-linux, with no image, no record, no handshake;
#   * runc (if it is installed) running `true` in the same busybox rootfs;
#   * `bocker run IMG true` at stage 1 (chroot), stage 3 (namespaces,
#     pivot_root, /proc …) and the reference, with and without --rm.
# Not a test: nothing fails. Quote the figures of a quiet machine.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$self" "$@"; fi
runs=${1:-30}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if ! command -v hyperfine >/dev/null 2>&1; then
    echo "bench: installing hyperfine"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends hyperfine >/dev/null
fi

work=$(mktemp -d /var/tmp/bocker-bench-XXXXXX)
trap 'umount "$work/state" 2>/dev/null; rm -rf "$work"' EXIT
# The state directory on a tmpfs: until chapter 6, each run copies the
# image, and on a disk that copy's cost swings with what the disk is busy
# with (seen here: 10 to 150 ms for the same run). In memory, the figures
# show bocker's own work. BENCH_ON_DISK=1 keeps the state on the disk.
mkdir -p "$work/state"
if [ -z "${BENCH_ON_DISK:-}" ]; then
    mount -t tmpfs -o mode=0700 bocker-bench "$work/state"
fi
for stage in 1 3; do
    solved=$(seq -s, -f 'solved%g' 1 "$stage")
    cargo build --release --quiet --features "stage$stage,$solved"
    cp target/release/bocker "$work/bocker-stage$stage"
done
cargo build --release --quiet --features reference
cp target/release/bocker "$work/bocker-reference"
scripts/make-busybox-rootfs.sh "$work/rootfs" >/dev/null
export BOCKER_ROOT=$work/state
image=$("$work/bocker-reference" init "$work/rootfs" | sed 's/Created: //')

commands=(
    -n "floor: unshare -fmuipn --mount-proc true" "unshare -fmuipn --mount-proc true"
)
if command -v runc >/dev/null 2>&1; then
    # An OCI bundle: the same rootfs, runc's default config running `true`.
    mkdir -p "$work/bundle"
    cp -a "$work/rootfs" "$work/bundle/rootfs"
    (cd "$work/bundle" && runc spec)
    sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"sh"/"true"/' "$work/bundle/config.json"
    commands+=(-n "runc run (busybox, true)" "runc --root $work/runc-state run --bundle $work/bundle bench")
else
    echo "bench: runc is not installed; no runc line (apt-get install runc)"
fi
builds=(stage1 stage3 reference) # reference: stage 4 (cgroups), every chapter solved
if [ -n "${BOCKER_BASELINE:-}" ]; then
    cp "$BOCKER_BASELINE" "$work/bocker-baseline"
    builds+=(baseline)
fi
for build in "${builds[@]}"; do
    commands+=(-n "bocker run IMG true, $build" "$work/bocker-$build run $image true")
done
for build in "${builds[@]}"; do
    commands+=(-n "bocker run --rm IMG true, $build" "$work/bocker-$build run --rm $image true")
done

echo "busybox image: $(du -sh "$work/rootfs" | cut -f1), $(find "$work/rootfs" | wc -l) files; kernel $(uname -r); $(nproc) cores; state on $(stat -f -c %T "$work/state")"
# --shell=none: no shell between hyperfine and the command (a shell would
# add its own start-up, more than the floor itself).
# --prepare sync: every run starts with nothing waiting to be written to
# disk. bocker fsyncs its records, and an fsync on a filesystem with lots
# of dirty data (the previous runs' copies of the image, a build) waits
# for all of it: without this, a run pays for its predecessors' writes.
sync
hyperfine --style basic --shell=none --prepare sync --warmup 3 --runs "$runs" \
    --export-json "$work/results.json" "${commands[@]}" >"$work/hyperfine.txt"

# The table: median, min, max (ms) and the ratio of each median to the floor.
python3 - "$work/results.json" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
floor = results[0]["median"]
print(f"{'command':48} {'median':>9} {'min':>9} {'max':>9} {'x floor':>8}")
for r in results:
    print(f"{r['command']:48} {r['median']*1000:8.2f}ms {r['min']*1000:8.2f}ms {r['max']*1000:8.2f}ms {r['median']/floor:7.2f}x")
EOF
