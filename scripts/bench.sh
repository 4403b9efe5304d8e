#!/usr/bin/env bash
# Benchmark: how long does starting a container take, whole process?
#   scripts/bench.sh [RUNS]          (default 30 runs per command)
#   BOCKER_BASELINE=/path/to/bocker scripts/bench.sh
#                                    (also times another build, to compare:
#                                    with and without its seccomp filter)
#   BENCH_SCALE=N scripts/bench.sh   (the scaling part with N containers,
#                                    default 100; 0 to skip it)
#
# Part 1, one hyperfine session, so that every line is measured under the
# same conditions, and a table of medians with each one's ratio to the floor:
#   * the floor: `unshare -fmuipn --mount-proc true`, the same namespaces
#     made by util-linux, with no image, no record, no handshake;
#   * runc (if it is installed) running `true` in the same busybox rootfs;
#   * `bocker run --rm IMG true` (a container's whole life: made, run,
#     removed) at stage 1 (chroot), stage 3 (namespaces, pivot_root,
#     /proc …), stage 4 (+ a cgroup), and the reference: its root a copy of
#     the image (as before chapter 6) or a btrfs snapshot (chapter 6), for
#     the busybox image (2 MB) and a Debian root (~180 MB, mmdebstrap
#     --variant=minbase, made once and kept in /var/cache/bocker-bench),
#     with --net none, and with --net bridge (chapter 5; one container stays
#     on the bridge meanwhile, so that the runs measured are neither the
#     first nor the last on it, which add or remove the NAT rules). Once
#     more with --privileged, which leaves out chapter 8's profile (masks,
#     capabilities, no_new_privs, seccomp, devices): the difference is
#     what the profile costs; and with --security-opt seccomp=unconfined,
#     for what the seccomp filters alone cost (and the same measured alone,
#     by examples/seccomp_cost.rs: building them, installing them).
# Then the start alone (`run -d`), --net none against --net bridge; and
# `run --rm … true` alone on the bridge, which then adds and removes the
# NAT rules every time.
# (The Docker-table verbs, `start` of a stopped container and `ps -a`
# with 1000 containers: scripts/bench-docker.sh.)
# Part 2, scaling: N containers started one after the other with the
# bridge and snapshots, each left running; how long the 1st, 10th, …, Nth
# start took, and the median of each tenth of them.
#
# It all runs in a network namespace of its own, playing the host (lo and
# a veth pair, as the tests do): the bridge, veths and NAT rules it makes
# vanish with it. The state directories are on a tmpfs (BENCH_ON_DISK=1:
# on the disk, under /var/tmp); the btrfs one gets bocker's btrfs file
# there, on a loop device, as a user's would. Not a test: nothing fails.
# Quote a quiet machine's figures.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$self" "$@"; fi

if [ "${1:-}" = "--in-namespace" ]; then
    # Internal: the measurements, inside the private network namespace.
    work=$2 runs=$3 scale=$4
    ip link set lo up
    ip link add eth0 type veth peer name eth1
    ip addr add 192.0.2.1/24 dev eth0
    ip link set eth0 up && ip link set eth1 up
    # Two state directories: images stored as copies (made before chapter
    # 6, or with BOCKER_STORAGE=copy), and as btrfs subvolumes.
    copies=$work/state/copies snapshots=$work/state/snapshots
    init() { # init BUILD ROOT DIR: the new image's id
        "$work/bocker-$1" --root "$2" init "$3" 2>/dev/null | sed 's/Created: //'
    }
    busybox_copy=$(BOCKER_STORAGE=copy init reference "$copies" "$work/rootfs")
    debian_copy=$(BOCKER_STORAGE=copy init reference "$copies" "$work/debian")
    busybox_snap=$(init reference "$snapshots" "$work/rootfs")
    debian_snap=$(init reference "$snapshots" "$work/debian")

    # One container stays on the bridge meanwhile, as on a host in use: the
    # runs measured with --net bridge are not the bridge's first or last
    # container, which install or remove the NAT rules.
    resident=$("$work/bocker-reference" --root "$snapshots" run -d --net bridge "$busybox_snap" sleep 100000)

    commands=(-n "floor: unshare -fmuipn --mount-proc true" "unshare -fmuipn --mount-proc true")
    if command -v runc >/dev/null 2>&1; then
        commands+=(-n "runc run (busybox, true)" "runc --root $work/runc-state run --bundle $work/bundle bench")
    fi
    lines=(
        "stage1|$copies|busybox, copy|$busybox_copy"
        "stage3|$copies|busybox, copy|$busybox_copy"
        "stage4|$copies|busybox, copy|$busybox_copy"
        "reference|$copies|busybox, copy, --net none|--net none $busybox_copy"
        "reference|$copies|debian, copy, --net none|--net none $debian_copy"
        "reference|$snapshots|busybox, snapshot, --net none|--net none $busybox_snap"
        "reference|$snapshots|busybox, snapshot, --net none, --privileged|--net none --privileged $busybox_snap"
        "reference|$snapshots|debian, snapshot, --net none|--net none $debian_snap"
        "reference|$snapshots|busybox, snapshot, --net bridge|--net bridge $busybox_snap"
        "reference|$snapshots|debian, snapshot, --net bridge|--net bridge $debian_snap"
    )
    # The seccomp filter alone: the same run without it.
    lines+=("reference|$snapshots|busybox, snapshot, --net none, no seccomp|--net none --security-opt seccomp=unconfined $busybox_snap")
    if [ -x "$work/bocker-baseline" ]; then
        lines+=(
            "baseline|$snapshots|busybox, snapshot, --net none|--net none $busybox_snap"
            "baseline|$snapshots|busybox, snapshot, --net none, no seccomp|--net none --security-opt seccomp=unconfined $busybox_snap"
        )
    fi
    for line in "${lines[@]}"; do
        IFS='|' read -r build root label args <<<"$line"
        commands+=(-n "bocker run --rm $build ($label)" "$work/bocker-$build --root $root run --rm $args true")
    done
    # --shell=none: no shell between hyperfine and the command (a shell would
    # add its own start-up, more than the floor itself).
    # --prepare sync: every run starts with nothing waiting to be written
    # to disk (bocker fsyncs its records).
    sync
    hyperfine --style basic --shell=none --prepare sync --warmup 3 --runs "$runs" \
        --export-json "$work/results.json" "${commands[@]}" >"$work/hyperfine.txt" 2>&1
    python3 - "$work/results.json" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
floor = results[0]["median"]
print(f"{'command':66} {'median':>9} {'min':>9} {'max':>9} {'x floor':>8}")
for r in results:
    print(f"{r['command'][:66]:66} {r['median']*1000:8.2f}ms {r['min']*1000:8.2f}ms {r['max']*1000:8.2f}ms {r['median']/floor:7.2f}x")
EOF

    # The start alone (`run -d` returns once the command runs; no
    # teardown): what --net bridge adds to a start, apart from deleting
    # the veth pair at the end. Alternated, so both see the same machine.
    echo
    echo "start only (run -d … sleep, snapshots, busybox; medians of $runs, alternated):"
    started=()
    for mode in none bridge; do : >"$work/start-$mode"; done
    for _ in $(seq "$runs"); do
        for mode in none bridge; do
            t0=$(date +%s%N)
            started+=("$("$work/bocker-reference" --root "$snapshots" run -d --net "$mode" "$busybox_snap" sleep 1000)")
            t1=$(date +%s%N)
            echo $(( (t1 - t0) / 1000 )) >>"$work/start-$mode"
        done
    done
    for mode in none bridge; do
        printf '  --net %-7s %7.2f ms\n' "$mode" "$(sort -n "$work/start-$mode" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] / 1000}')"
    done
    "$work/bocker-reference" --root "$snapshots" stop -t 0 "${started[@]}" >/dev/null
    "$work/bocker-reference" --root "$snapshots" rm "${started[@]}" >/dev/null
    "$work/bocker-reference" --root "$snapshots" stop -t 0 "$resident" >/dev/null

    # What the seccomp filters cost a run: the same run with and without
    # them, alternated run by run (one hyperfine line after another drifts
    # with the machine by more than the filters cost), and the baseline
    # build the same two ways if there is one.
    echo
    echo "seccomp's cost (run --rm … true, busybox, snapshots, --net none; medians of $runs, alternated):"
    builds=(reference)
    [ -x "$work/bocker-baseline" ] && builds+=(baseline)
    variants=()
    for build in "${builds[@]}"; do
        variants+=("$build|default" "$build|unconfined")
    done
    for variant in "${variants[@]}"; do : >"$work/seccomp-${variant/|/-}"; done
    for _ in $(seq "$runs"); do
        for variant in "${variants[@]}"; do
            build=${variant%|*}
            profile=${variant#*|}
            options=()
            [ "$profile" = unconfined ] && options=(--security-opt seccomp=unconfined)
            t0=$(date +%s%N)
            "$work/bocker-$build" --root "$snapshots" run --rm --net none "${options[@]}" "$busybox_snap" true
            t1=$(date +%s%N)
            echo $(( (t1 - t0) / 1000 )) >>"$work/seccomp-${variant/|/-}"
        done
    done
    for variant in "${variants[@]}"; do
        printf '  %-22s %7.2f ms\n' "${variant/|/, }" "$(sort -n "$work/seccomp-${variant/|/-}" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] / 1000}')"
    done
    # The cost itself: run by run, default minus unconfined (the two ran
    # one after the other), and the median of those differences; steadier
    # than the difference of two medians.
    # The same cost measured alone, in fresh processes: building the
    # filters from the default profile, and installing them
    # (examples/seccomp_cost.rs).
    echo "  $("$work/seccomp-cost" "$runs")"
    for build in "${builds[@]}"; do
        printf '  %-22s %7.2f ms\n' "$build, filters' cost" "$(paste "$work/seccomp-$build-default" "$work/seccomp-$build-unconfined" | awk '{print $1 - $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] / 1000}')"
    done

    # Alone on the bridge: each run is the bridge's first and last
    # container, so it also installs and removes the way out (NAT).
    echo
    echo "alone on the bridge (busybox, snapshots; medians of $runs):"
    hyperfine --style basic --shell=none --warmup 3 --runs "$runs" \
        --export-json "$work/alone.json" \
        -n "none" "$work/bocker-reference --root $snapshots run --rm --net none $busybox_snap true" \
        -n "bridge, alone" "$work/bocker-reference --root $snapshots run --rm --net bridge $busybox_snap true" \
        >"$work/alone.txt" 2>&1
    python3 - "$work/alone.json" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"  {r['command']:20} {r['median']*1000:7.2f} ms")
EOF

    if [ "$scale" -gt 0 ]; then
        echo
        echo "scaling: $scale containers with --net bridge and snapshots, each left running (run -d … sleep)"
        ids=()
        step=$(( scale / 10 > 0 ? scale / 10 : 1 ))
        for n in $(seq "$scale"); do
            t0=$(date +%s%N)
            ids+=("$("$work/bocker-reference" --root "$snapshots" run -d "$busybox_snap" sleep 1000)")
            t1=$(date +%s%N)
            ms=$(( (t1 - t0) / 1000 ))
            echo "$ms" >>"$work/scaling"
            if [ "$n" -eq 1 ] || [ $((n % step)) -eq 0 ]; then
                printf '  start %4d: %7.2f ms\n' "$n" "$(echo "$ms / 1000" | bc -l)"
            fi
        done
        # One start is one sample, and a single sample is noisy: also the
        # median of each tenth (the 1st start, which makes the bridge and
        # the NAT rules, counts in the first).
        python3 - "$work/scaling" <<'EOF'
import statistics, sys
times = [int(line) / 1000 for line in open(sys.argv[1])]
tenth = max(len(times) // 10, 1)
for start in range(0, len(times), tenth):
    window = times[start:start + tenth]
    print(f"  starts {start + 1:3}-{start + len(window):3}: median {statistics.median(window):6.2f} ms")
EOF
        "$work/bocker-reference" --root "$snapshots" stop -t 0 "${ids[@]}" >/dev/null
        "$work/bocker-reference" --root "$snapshots" rm "${ids[@]}" >/dev/null
    fi
    # Unmount the btrfs file: its loop device detaches (AUTOCLEAR).
    "$work/bocker-reference" --root "$snapshots" system reset --force >/dev/null
    "$work/bocker-reference" --root "$copies" system reset --force >/dev/null 2>&1 || true
    exit 0
fi

runs=${1:-30}
scale=${BENCH_SCALE:-100}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
for tool in hyperfine bc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench: installing $tool"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$tool" >/dev/null
    fi
done

work=$(mktemp -d /var/tmp/bocker-bench-XXXXXX)
# Each step may fail without stopping the others: under set -e, a trap
# stops at its first failing command, and the btrfs is normally unmounted
# already (by `system reset`), so its umount fails; that left the tmpfs
# mounted and $work behind after every run. Lazy (-l) for the tmpfs too:
# the loop device under the btrfs file lets go of it a moment after the
# btrfs is unmounted, and a plain umount then failed as busy.
cleanup() {
    if mountpoint -q "$work/state/snapshots/btrfs"; then
        umount -l "$work/state/snapshots/btrfs" || true
    fi
    if mountpoint -q "$work/state"; then
        umount -l "$work/state" || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
# The state directory on a tmpfs: until chapter 6, each run copies the
# image, and on a disk that copy's cost swings with what the disk is busy
# with (seen here: 10 to 150 ms for the same run). In memory, the figures
# show bocker's own work. BENCH_ON_DISK=1 keeps the state on the disk.
mkdir -p "$work/state"
if [ -z "${BENCH_ON_DISK:-}" ]; then
    mount -t tmpfs -o mode=0700 bocker-bench "$work/state"
fi
for stage in 1 3 4; do
    solved=$(seq -s, -f 'solved%g' 1 "$stage")
    cargo build --release --quiet --features "stage$stage,$solved"
    cp target/release/bocker "$work/bocker-stage$stage"
done
cargo build --release --quiet --features reference --bin bocker --example seccomp_cost
cp target/release/bocker "$work/bocker-reference"
cp target/release/examples/seccomp_cost "$work/seccomp-cost"
if [ -n "${BOCKER_BASELINE:-}" ]; then
    cp "$BOCKER_BASELINE" "$work/bocker-baseline"
fi
scripts/make-busybox-rootfs.sh "$work/rootfs" >/dev/null
# The Debian root: made once (about 10 to 40 s, from Debian's mirror), kept.
debian=/var/cache/bocker-bench/bookworm-minbase
if [ ! -x "$debian/usr/bin/true" ]; then
    command -v mmdebstrap >/dev/null 2>&1 ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >/dev/null
    rm -rf "$debian.tmp" && mkdir -p "$(dirname "$debian")"
    mmdebstrap --quiet --variant=minbase --mode=root bookworm "$debian.tmp"
    mv "$debian.tmp" "$debian"
fi
ln -s "$debian" "$work/debian"
if command -v runc >/dev/null 2>&1; then
    # An OCI bundle: the same rootfs, runc's default config running `true`.
    mkdir -p "$work/bundle"
    cp -a "$work/rootfs" "$work/bundle/rootfs"
    (cd "$work/bundle" && runc spec)
    sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"sh"/"true"/' "$work/bundle/config.json"
else
    echo "bench: runc is not installed; no runc line (apt-get install runc)"
fi

echo "busybox image: $(du -sh "$work/rootfs" | cut -f1), $(find "$work/rootfs" | wc -l) files; debian image: $(du -sh "$debian" | cut -f1), $(find "$debian" | wc -l) files; kernel $(uname -r); $(nproc) cores; state on $(stat -f -c %T "$work/state")"
unshare --net "$self" --in-namespace "$work" "$runs" "$scale"
