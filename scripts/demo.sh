#!/usr/bin/env bash
# The demo: from a fresh Debian/Ubuntu machine to a running container.
#   sudo scripts/demo.sh
# Installs what is missing, builds the reference runtime, makes a busybox
# image and runs containers in it, saying what each step shows.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/local-registry.sh
if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$0" "$@"
fi

scripts/install-deps.sh
echo "== building the reference runtime (cargo build --release --features reference)"
cargo build --release --quiet --features reference
bocker=$PWD/target/release/bocker

work=$(mktemp -d /tmp/bocker-demo-XXXXXX)
export BOCKER_ROOT=$work/state
# On the way out, also after an error: stop what still runs, remove
# every container and image, and the btrfs file bocker made for them (its
# mount and loop device go with it), then the folder.
registry_pid=
cleanup() {
    if [ -n "$registry_pid" ]; then
        kill "$registry_pid" 2>/dev/null || true
        wait "$registry_pid" 2>/dev/null || true
    fi
    "$bocker" ps 2>/dev/null | awk 'NR > 1 && /Running|Paused/ { print $1 }' |
        xargs -r "$bocker" stop -t 0 >/dev/null 2>&1 || true
    "$bocker" system reset --force >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# show "what it shows" ARGS...: print the bocker command as you would type
# it (arguments with spaces or $ in single quotes), then run it.
show() {
    echo
    echo "== $1"
    shift
    printf '$ bocker'
    for arg in "$@"; do
        if [[ $arg =~ [[:space:]\$\"] ]]; then printf " '%s'" "$arg"; else printf ' %s' "$arg"; fi
    done
    echo
    "$bocker" "$@" || echo "(exit code $?)"
}

scripts/make-busybox-rootfs.sh "$work/busybox" >/dev/null
show "an image from a directory (Bocker's init)" init "$work/busybox"
image=$("$bocker" images | awk 'NR==2 {print $1}')
show "the images" images
show "a container: its own root, hostname and pid 1" \
    run --name demo "$image" 'echo "I am $(hostname), pid $$"; ls /'
show "its processes: only its own (a new PID namespace and /proc)" run "$image" ps
show "its network: only lo (a new network namespace)" run "$image" ip link
show "a background container" run -d --name sleeper "$image" sleep 600
show "exec joins its namespaces" exec sleeper sh -c 'echo "pid $$ on $(hostname)"; ps'
show "a container with limits, counted by its cgroup" run -d --name limited --memory 64m --cpus 0.5 "$image" sleep 600
show "what the cgroups count" stats --no-stream
show "the freezer: pause" pause limited
show "ps shows it" ps
show "unpause, and stop it" unpause limited
"$bocker" stop -t 0 limited >/dev/null
show "the OOM killer: 100 MB in a 16 MB container" run --name hungry --memory 16m "$image" 'x=$(head -c 100000000 /dev/zero | tr "\0" x)'
show "a container's root is a btrfs snapshot of its image: what it changed" \
    run --name writer "$image" 'echo hello > /root/note; rm /etc/os-release'
show "diff: added, changed, deleted" diff writer
show "commit: an image from the container's files" commit writer
# Chapter 7: a registry on this machine (Debian's docker-registry), as a
# classroom would run one; the image pushed to it is made with umoci and
# skopeo, with a command of its own in its config.
start_local_registry "$work"
umoci init --layout "$work/oci"
umoci new --image "$work/oci:demo"
umoci unpack --image "$work/oci:demo" "$work/bundle" >/dev/null
cp -a "$work/busybox/." "$work/bundle/rootfs/"
umoci repack --image "$work/oci:demo" "$work/bundle"
umoci config --image "$work/oci:demo" --config.cmd sh --config.cmd -c \
    --config.cmd 'echo "hello from $(hostname): my command came with me, from the registry"'
skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$work/oci:demo" \
    "docker://127.0.0.1:$port/demo/busybox:1.0"
show "pull from a registry (the OCI distribution API)" pull "127.0.0.1:$port/demo/busybox:1.0"
show "images: where each came from, and a pulled one's digest" images --digests
show "run it by name, with the command its config names" run --rm "127.0.0.1:$port/demo/busybox:1.0"
show "stop it (SIGTERM, then SIGKILL)" stop -t 1 sleeper
show "all containers, with status and exit code" ps
show "what a container printed" logs demo
show "remove them" rm demo sleeper limited hungry writer
show "and everything else, with the btrfs file" system reset --force
echo
echo "Demo done. The state lived in $BOCKER_ROOT and is now removed."
