#!/usr/bin/env bash
# Benchmark: bocker as an OCI runtime, against runc.
#   scripts/bench-oci.sh [RUNS]      (default 30 runs per command)
#
# One hyperfine session (medians), each command a whole container's life:
#   * the bare lifecycle: `create` + `start` + `delete` of one bundle (a
#     busybox root, config.json from `runc spec`, running `true`), by
#     bocker and by runc;
#   * `podman run --rm --network none IMG true` with --runtime bocker and
#     with --runtime runc: the engine's own cost shows (conmon, storage,
#     its database), around the runtime's.
# Everything in a folder of its own under /var/tmp, removed at the end;
# nothing leaves the machine (the image is made here, --network none).
# Not a test: nothing fails. Quote a quiet machine's figures.
set -euo pipefail
runs=${1:-30}
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$repo"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
source scripts/lib/packages.sh
install_missing hyperfine runc podman conmon umoci skopeo busybox-static

# Lower case only: podman names the pulled image after the layout's path.
work=/var/tmp/bocker-bench-oci-$$-$(date +%s)
mkdir -m 0700 "$work"
cleanup() {
    "$work/podman.sh" rm --all --force >/dev/null 2>&1 || true
    for tree in /sys/fs/cgroup/*/; do
        rmdir "$tree/bocker-bench-oci/conmon" "$tree/bocker-bench-oci" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --features reference
cp target/release/bocker "$work/bocker"

# The bundle: a busybox root and runc's default config.json, running true,
# without a terminal.
mkdir -p "$work/bundle"
scripts/make-busybox-rootfs.sh "$work/bundle/rootfs" >/dev/null
(cd "$work/bundle" && runc spec)
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"true"/' "$work/bundle/config.json"
grep -q '"true"' "$work/bundle/config.json" || { echo "bench-oci: cannot set the bundle's command" >&2; exit 1; }

# One container's life, by each runtime, as a script hyperfine runs.
for runtime in bocker runc; do
    binary=$work/bocker
    [ "$runtime" = runc ] && binary=$(command -v runc)
    cat >"$work/life-$runtime" <<EOF
#!/bin/sh
set -e
$binary --root $work/state-$runtime create --bundle $work/bundle c1 >/dev/null
$binary --root $work/state-$runtime start c1
# The process is gone in a moment; delete --force does not wait for it.
while $binary --root $work/state-$runtime state c1 | grep -q '"running"'; do :; done
$binary --root $work/state-$runtime delete --force c1
EOF
    chmod +x "$work/life-$runtime"
done

# podman, its storage and run root in the work folder (the run root's
# path must be short), the image from an OCI layout made with umoci.
runroot=$(mktemp -d /tmp/bkb-XXXXXX)
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = []
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
runtime_supports_json = ["bocker", "runc"]
EOF
cat >"$work/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$runroot"
graphroot = "$work/podman"
EOF
cat >"$work/podman.sh" <<EOF
#!/bin/sh
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf
exec podman --root $work/podman --runroot $runroot --storage-driver vfs --tmpdir $work/tmp \
    --cgroup-manager cgroupfs --events-backend file "\$@"
EOF
chmod +x "$work/podman.sh"
umoci init --layout "$work/oci" >/dev/null
umoci new --image "$work/oci:bench" >/dev/null
umoci unpack --image "$work/oci:bench" "$work/unpacked" >/dev/null
cp -a "$work/bundle/rootfs/." "$work/unpacked/rootfs/"
umoci repack --image "$work/oci:bench" "$work/unpacked" >/dev/null
image=$("$work/podman.sh" pull -q "oci:$work/oci:bench")

hyperfine --style basic --shell=none --warmup 3 --runs "$runs" \
    --export-json "$work/results.json" \
    -n "bocker: create + start + delete" "$work/life-bocker" \
    -n "runc: create + start + delete" "$work/life-runc" \
    -n "podman run --rm --runtime bocker" \
    "$work/podman.sh --runtime $work/bocker run --rm --pull never --network none --cgroup-parent /bocker-bench-oci $image true" \
    -n "podman run --rm --runtime runc" \
    "$work/podman.sh --runtime $(command -v runc) run --rm --pull never --network none --cgroup-parent /bocker-bench-oci $image true" \
    >"$work/hyperfine.txt" 2>&1 || { cat "$work/hyperfine.txt"; exit 1; }
rm -rf "$runroot"

echo "$(uname -r); $(nproc) cores; $(runc --version | head -1); $(podman --version); medians of $runs"
python3 - "$work/results.json" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
median = {r["command"]: r["median"] * 1000 for r in results}
for name, ms in median.items():
    print(f"  {name:<36} {ms:8.2f} ms")
bare = median["runc: create + start + delete"] / median["bocker: create + start + delete"]
print(f"  bocker's bare lifecycle is {bare:.2f}x runc's speed")
EOF
