#!/usr/bin/env bash
# The demo: from a fresh Debian/Ubuntu machine to a running container.
#   sudo scripts/demo.sh
# Installs what is missing, builds the reference runtime, makes a busybox
# image and runs containers in it, saying what each step shows.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$0" "$@"
fi

scripts/install-deps.sh
echo "== building the reference runtime (cargo build --release --features reference)"
cargo build --release --quiet --features reference
bocker=$PWD/target/release/bocker

work=$(mktemp -d /tmp/bocker-demo-XXXXXX)
export BOCKER_ROOT=$work/state
trap 'rm -rf "$work"' EXIT

show() { # show "what it shows" command...
    echo
    echo "== $1"
    shift
    echo "\$ bocker ${*#$bocker }"
    "$@" || echo "(exit code $?)"
}

scripts/make-busybox-rootfs.sh "$work/busybox" >/dev/null
show "an image from a directory (Bocker's init)" "$bocker" init "$work/busybox"
image=$("$bocker" images | awk 'NR==2 {print $1}')
show "the images" "$bocker" images
show "a container: its own root, hostname and pid 1" \
    "$bocker" run --name demo "$image" 'echo "I am $(hostname), pid $$"; ls /'
show "its processes: only its own (a new PID namespace and /proc)" "$bocker" run "$image" ps
show "its network: only lo (a new network namespace)" "$bocker" run "$image" ip -o link
show "a background container" "$bocker" run -d --name sleeper "$image" sleep 600
show "exec joins its namespaces" "$bocker" exec sleeper sh -c 'echo "pid $$ on $(hostname)"; ps'
show "stop it (SIGTERM, then SIGKILL)" "$bocker" stop -t 1 sleeper
show "all containers, with status and exit code" "$bocker" ps
show "what a container printed" "$bocker" logs demo
show "remove them" "$bocker" rm demo sleeper
echo
echo "Demo done. The state lived in $BOCKER_ROOT and is now removed."
