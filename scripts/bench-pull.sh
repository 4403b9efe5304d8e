#!/usr/bin/env bash
# Benchmark: pulling a real Debian image (chapter 7) from a registry on
# this machine, into btrfs.
#   scripts/bench-pull.sh [RUNS]        (default 5 runs of each line)
#
# Made once and kept in /var/cache/bocker-bench: a Debian root
# (mmdebstrap --variant=minbase bookworm, about 180 MB), packed by umoci as
# a one-layer image and as a four-layer image. Each run pushes nothing: a
# docker-registry on 127.0.0.1 serves both, and every line below works in
# the same btrfs filesystem (a file on a loop device made here):
#   * bocker pull (release build of the reference) into a new state root,
#     with its peak memory (GNU time's maximum resident set size);
#   * skopeo copy to an OCI layout, then umoci unpack of it: what one would
#     do without bocker;
#   * the floor for one layer: `gzip -dc` of the layer, and `tar -xf` of
#     the uncompressed layer, one after the other.
# Medians of RUNS runs, page cache warm. Not a test: nothing fails.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
. scripts/lib/local-registry.sh
if [ "$(id -u)" -ne 0 ]; then exec sudo -E "$self" "$@"; fi
runs=${1:-5}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

for tool in docker-registry skopeo umoci mmdebstrap mkfs.btrfs /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "bench-pull: $tool is missing (apt-get install docker-registry skopeo umoci mmdebstrap btrfs-progs time)" >&2
        exit 1
    }
done

cache=/var/cache/bocker-bench
debian=$cache/bookworm-minbase
layout=$cache/debian-oci
mkdir -p "$cache"
if [ ! -d "$debian" ]; then
    echo "bench-pull: making the Debian root in $debian (mmdebstrap, a few minutes)"
    mmdebstrap --variant=minbase --mode=root bookworm "$debian.tmp" >/dev/null
    mv "$debian.tmp" "$debian"
fi
if [ ! -f "$layout/index.json" ]; then
    echo "bench-pull: packing the Debian root as OCI images (umoci)"
    rm -rf "$layout" "$layout.bundle"
    umoci init --layout "$layout"
    # One layer: the whole tree.
    umoci new --image "$layout:one"
    umoci unpack --image "$layout:one" "$layout.bundle"
    cp -a "$debian/." "$layout.bundle/rootfs/"
    umoci repack --image "$layout:one" "$layout.bundle"
    rm -rf "$layout.bundle"
    # Four layers: everything but /usr, then /usr/bin and /usr/sbin, then
    # /usr/lib, then the rest of /usr.
    umoci new --image "$layout:four"
    umoci unpack --image "$layout:four" "$layout.bundle"
    rootfs=$layout.bundle/rootfs
    (cd "$debian" && find . -mindepth 1 -maxdepth 1 ! -name usr -exec cp -a {} "$rootfs/" \;)
    mkdir -p "$rootfs/usr"
    # --refresh-bundle: the next repack holds only what was added since.
    umoci repack --refresh-bundle --image "$layout:four" "$layout.bundle"
    for part in "bin sbin" "lib" "share include libexec local games src lib64"; do
        for dir in $part; do
            if [ -e "$debian/usr/$dir" ]; then cp -a "$debian/usr/$dir" "$rootfs/usr/"; fi
        done
        umoci repack --refresh-bundle --image "$layout:four" "$layout.bundle"
    done
    rm -rf "$layout.bundle"
    umoci gc --layout "$layout"
fi

echo "bench-pull: building the reference (release)"
cargo build --quiet --release --features reference
bocker=$PWD/target/release/bocker

work=$(mktemp -d /var/tmp/bocker-bench-pull-XXXXXX)
registry_pid=
cleanup() {
    # (Each step may fail without stopping the others: this runs under
    # set -e.)
    if [ -n "$registry_pid" ]; then
        kill "$registry_pid" 2>/dev/null || true
        wait "$registry_pid" 2>/dev/null || true
    fi
    if mountpoint -q "$work/fs"; then
        # bocker's own btrfs files are not used here: the state roots are
        # on this filesystem already.
        umount "$work/fs"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The registry, on a free port, with its own storage.
start_local_registry "$work"
for tag in one four; do
    skopeo copy --quiet --dest-tls-verify=false "oci:$layout:$tag" "docker://127.0.0.1:$port/bench/debian:$tag"
done

# One btrfs for everything, on a loop device (detached when unmounted).
truncate -s 8G "$work/btrfs.img"
mkfs.btrfs -q "$work/btrfs.img" >/dev/null 2>&1
mkdir "$work/fs"
mount -o loop "$work/btrfs.img" "$work/fs"
fs=$work/fs

# The uncompressed layer of the one-layer image, for the floor.
layer_digest=$(python3 -c '
import json,sys
layout=sys.argv[1]
index=json.load(open(layout+"/index.json"))
m=[d for d in index["manifests"] if d.get("annotations",{}).get("org.opencontainers.image.ref.name")=="one"][0]
manifest=json.load(open(layout+"/blobs/sha256/"+m["digest"].split(":")[1]))
print(manifest["layers"][0]["digest"].split(":")[1])' "$layout")
layer_gz=$layout/blobs/sha256/$layer_digest
gzip -dc "$layer_gz" >"$work/layer.tar"
echo "bench-pull: one-layer image: $(du -m "$layer_gz" | cut -f1) MB compressed, $(du -m "$work/layer.tar" | cut -f1) MB of tar"

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
seconds() { # seconds COMMAND…: wall time of one run
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

declare -A times memory
for tag in one four; do
    reference=127.0.0.1:$port/bench/debian:$tag
    for i in $(seq "$runs"); do
        root=$fs/bocker-$tag-$i
        /usr/bin/time -f "%e %M" -o "$work/time" "$bocker" --root "$root" pull "$reference" >/dev/null 2>"$work/pull.log" || {
            cat "$work/pull.log" >&2
            exit 1
        }
        read -r elapsed kilobytes <"$work/time"
        times[bocker-$tag]+="$elapsed "
        memory[bocker-$tag]+="$kilobytes "
        "$bocker" --root "$root" system reset --force >/dev/null 2>&1 || true
        rm -rf "$root"

        t=$(seconds sh -c "skopeo copy --quiet --src-tls-verify=false docker://$reference oci:$fs/oci-$i:img &&
                           umoci unpack --image $fs/oci-$i:img $fs/bundle-$i")
        times[skopeo-umoci-$tag]+="$t "
        rm -rf "$fs/oci-$i" "$fs/bundle-$i"
    done
done
for i in $(seq "$runs"); do
    times[gzip]+="$(seconds sh -c "gzip -dc $layer_gz >/dev/null") "
    mkdir "$fs/tar-$i"
    times[tar]+="$(seconds tar -xf "$work/layer.tar" -C "$fs/tar-$i") "
    rm -rf "$fs/tar-$i"
done

echo
echo "medians of $runs runs (seconds; memory: bocker's peak resident set)"
printf "%-36s %8s %10s\n" "" "time" "memory"
for tag in one four; do
    printf "%-36s %8s %8s MB\n" "bocker pull ($tag layer(s))" \
        "$(tr ' ' '\n' <<<"${times[bocker-$tag]}" | grep . | median)" \
        "$(tr ' ' '\n' <<<"${memory[bocker-$tag]}" | grep . | median | awk '{printf "%.1f", $1/1024}')"
    printf "%-36s %8s\n" "skopeo copy + umoci unpack ($tag)" \
        "$(tr ' ' '\n' <<<"${times[skopeo-umoci-$tag]}" | grep . | median)"
done
gz=$(tr ' ' '\n' <<<"${times[gzip]}" | grep . | median)
tx=$(tr ' ' '\n' <<<"${times[tar]}" | grep . | median)
printf "%-36s %8s\n" "floor: gzip -dc (one layer)" "$gz"
printf "%-36s %8s\n" "floor: tar -xf into btrfs" "$tx"
printf "%-36s %8s\n" "floor: the two, one after the other" "$(echo "$gz + $tx" | bc)"
