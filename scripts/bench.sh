#!/usr/bin/env bash
# Benchmark: how long does `bocker run IMG true` take, whole process?
#   sudo scripts/bench.sh [RUNS]        (default 30 runs per line)
# Measures the release build at stage 1 (chroot) and stage 3 (namespaces,
# pivot_root, /proc…), and `unshare -fmuipn --mount-proc true` as the floor:
# the same namespaces made by util-linux, with no image to copy.
# Prints median, min and max in milliseconds. Not a test: nothing fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$0" "$@"; fi
runs=${1:-30}

work=$(mktemp -d /tmp/bocker-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
for stage in 1 3; do
    solved=$(seq -s, -f 'solved%g' 1 "$stage")
    cargo build --release --quiet --features "stage$stage,$solved"
    cp target/release/bocker "$work/bocker-stage$stage"
done
scripts/make-busybox-rootfs.sh "$work/rootfs" >/dev/null
export BOCKER_ROOT=$work/state
image=$("$work/bocker-stage1" init "$work/rootfs" | sed 's/Created: //')

# time_runs LABEL COMMAND...: run COMMAND $runs times, print the figures.
time_runs() {
    local label=$1; shift
    local times=()
    "$@" >/dev/null 2>&1 # warm-up
    for _ in $(seq "$runs"); do
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        times+=($(( (t1 - t0) / 1000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" -v n="$runs" '
        { t[NR] = $1 }
        END {
            median = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
            printf "%-50s median %7.2f ms   min %7.2f   max %7.2f   (%d runs)\n", label, median / 1000, t[1] / 1000, t[n] / 1000, n
        }'
}

echo "busybox image: $(du -sh "$work/rootfs" | cut -f1), $(find "$work/rootfs" | wc -l) files; kernel $(uname -r)"
time_runs "unshare -fmuipn --mount-proc true (floor)" unshare -fmuipn --mount-proc true
# Without --rm the container's copy stays (as in Bocker); with --rm the
# copy is deleted again, which costs as much as making it on some disks.
time_runs "bocker run IMG true, stage 1 (chroot)" "$work/bocker-stage1" run "$image" true
time_runs "bocker run IMG true, stage 3 (namespaces, mounts)" "$work/bocker-stage3" run "$image" true
time_runs "bocker run --rm IMG true, stage 1" "$work/bocker-stage1" run --rm "$image" true
time_runs "bocker run --rm IMG true, stage 3" "$work/bocker-stage3" run --rm "$image" true
