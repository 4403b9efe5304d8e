#!/usr/bin/env bash
# Benchmark: the Docker-table verbs of the finished runtime (issue 21).
#   scripts/bench-docker.sh [RUNS] [CONTAINERS]   (as root; defaults 30, 1000)
#
# One hyperfine session (medians):
#   * `start` of a stopped container: the same container started again
#     (its root kept; each run is prepared by `stop -t 0`), against `run -d`
#     of a new one, which makes a root first;
#   * `ps -a`, `ps -q` and `ps --filter status=running` with CONTAINERS
#     containers in the state directory (made by `create`, so that most are
#     Created and have no process; 10 of them running, 10 exited), against
#     `ps -a` with none.
# Target (issue 21): `ps -a` under 50 ms with 1000 containers.
# The state directories are on a tmpfs of the bench's own (a mount
# namespace of its own: nothing to unmount, even if it is killed), the
# images btrfs snapshots in bocker's btrfs file there. Nothing leaves the
# machine (--net none). Not a test: nothing fails. Quote a quiet machine's
# figures.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$self" "$@"; fi
runs=${1:-30}
containers=${2:-1000}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
source scripts/lib/packages.sh
install_missing hyperfine busybox-static btrfs-progs

if [ "${BENCH_INSIDE:-}" != 1 ]; then
    cargo build --release --quiet --features reference --bin bocker
    exec unshare --mount --propagation private env BENCH_INSIDE=1 "$self" "$runs" "$containers"
fi

work=$(mktemp -d /tmp/bocker-bench-docker-XXXXXX)
mount -t tmpfs -o size=4g tmpfs "$work"
cleanup() {
    # Running containers first (reset refuses to remove them), by their
    # keepers: each one releases its cgroup.
    for dir in one many; do
        running=$(BOCKER_ROOT=$work/$dir "$work/bocker" ps -q --filter status=running 2>/dev/null || true)
        if [ -n "$running" ]; then
            # shellcheck disable=SC2086
            BOCKER_ROOT=$work/$dir "$work/bocker" stop -t 0 $running >/dev/null 2>&1 || true
        fi
    done
    BOCKER_ROOT=$work/many "$work/bocker" system reset --force >/dev/null 2>&1 || true
    BOCKER_ROOT=$work/one "$work/bocker" system reset --force >/dev/null 2>&1 || true
    BOCKER_ROOT=$work/empty "$work/bocker" system reset --force >/dev/null 2>&1 || true
    umount -l "$work" 2>/dev/null || true
    rmdir "$work" 2>/dev/null || true
}
trap cleanup EXIT
cp target/release/bocker "$work/bocker"
scripts/make-busybox-rootfs.sh "$work/rootfs" >/dev/null
# (Each state directory gets its btrfs file, with a warning that says so.)
b() { BOCKER_ROOT=$1 BOCKER_BRIDGE=none "$work/bocker" "${@:2}" 2> >(grep -v "is not on btrfs" >&2); }

# One container to stop and start again, in a state directory of its own.
image=$(b "$work/one" init "$work/rootfs" | sed 's/Created: //')
b "$work/one" run -d --name again "$image" sleep 100000 >/dev/null
b "$work/one" stop -t 0 again >/dev/null

# Many containers, and an empty state directory.
many_image=$(b "$work/many" init "$work/rootfs" | sed 's/Created: //')
b "$work/empty" init "$work/rootfs" >/dev/null
for n in $(seq "$containers"); do
    b "$work/many" create "$many_image" true >/dev/null
done
for n in $(seq 10); do
    b "$work/many" run -d "$many_image" sleep 100000 >/dev/null
    b "$work/many" run "$many_image" true >/dev/null
done

hyperfine --style basic --shell=none --warmup 3 --runs "$runs" \
    --export-json "$work/results.json" \
    -n "start (a stopped container)" \
    --prepare "env BOCKER_ROOT=$work/one BOCKER_BRIDGE=none $work/bocker stop -t 0 again" \
    "env BOCKER_ROOT=$work/one BOCKER_BRIDGE=none $work/bocker start again" \
    -n "run -d (a new container)" \
    --prepare "sh -c 'b=\"env BOCKER_ROOT=$work/one BOCKER_BRIDGE=none $work/bocker\"; \$b stop -t 0 new; \$b rm new; true' " \
    "env BOCKER_ROOT=$work/one BOCKER_BRIDGE=none $work/bocker run -d --name new $image sleep 100000" \
    -n "ps -a, no containers" --prepare true \
    "env BOCKER_ROOT=$work/empty $work/bocker ps -a" \
    -n "ps -a, $containers+20 containers" --prepare true \
    "env BOCKER_ROOT=$work/many $work/bocker ps -a" \
    -n "ps -q, $containers+20 containers" --prepare true \
    "env BOCKER_ROOT=$work/many $work/bocker ps -q" \
    -n "ps --filter status=running, $containers+20" --prepare true \
    "env BOCKER_ROOT=$work/many $work/bocker ps --filter status=running" \
    >"$work/hyperfine.txt" 2>&1 || { cat "$work/hyperfine.txt"; exit 1; }

echo "$(uname -r); $(nproc) cores; medians of $runs; state on tmpfs, images btrfs snapshots"
python3 - "$work/results.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"  {r['command']:<44} {r['median'] * 1000:8.2f} ms")
PY
