#!/usr/bin/env bash
# Benchmark: bocker without root, against bocker as root and against
# rootless podman.
#   scripts/bench-rootless.sh [RUNS]      (as root; default 30 runs each)
#
# One hyperfine session (medians), each command a whole container's life,
# `run --rm … IMG true` with no network:
#   * bocker as root, and bocker as an ordinary user (each container in a
#     user namespace whose root is that user: src/runtime/userns.rs), both
#     keeping copies (a user has no loop-mounted btrfs);
#   * bocker without root from an image that may hold files of subordinate
#     ids (a commit), copied by a mapped child;
#   * rootless podman as the same user (Debian's podman, crun or runc, its
#     storage vfs, the same busybox image loaded from an OCI layout).
# The user is `bocker-bench`, made with subordinate ids if missing (rootless
# podman maps them through newuidmap); everything else is on a fresh ext4
# filesystem in a file under /var/tmp, removed at the end. Nothing leaves
# the machine.
# Not a test: nothing fails. Quote a quiet machine's figures.
set -euo pipefail
runs=${1:-30}
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd -P)
cd "$repo"
if [ "$(id -u)" -ne 0 ]; then
    echo "bench-rootless: run me as root (it makes the user it measures)" >&2
    exit 1
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
source scripts/lib/packages.sh
install_missing hyperfine podman conmon uidmap umoci busybox-static

user=bocker-bench
if ! id "$user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$user"
fi
if ! grep -q "^$user:" /etc/subuid || ! grep -q "^$user:" /etc/subgid; then
    usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$user"
fi

# Everything on a fresh ext4 filesystem of its own (a file on a loop
# device): bocker (rootless) and podman (vfs) copy the image per
# container, and on a filesystem that has made and deleted many files in
# the last minutes, ext4 takes longer to find a free inode (ialloc.c's
# recently_deleted() skips inodes freed less than a minute ago): measured
# here, after a test suite, 230 ms per `run --rm` as root instead of 20,
# all of it in ext4_symlink. A fresh one measures the runtimes.
work=/var/tmp/bocker-bench-rootless-$$-$(date +%s)
# The user's run folder (XDG_RUNTIME_DIR), with a short path: conmon's
# sockets live there, and a Unix socket's path has at most 107 bytes
# (with a long one, each podman run waited 20 s).
run=$(mktemp -d /tmp/bkr-XXXXXX)
chown "$user:$user" "$run"
chmod 0700 "$run"
# As the user, with podman's settings and bocker's state in the folder.
as_user() {
    setpriv --reuid "$user" --regid "$user" --init-groups \
        env HOME="$work/home" XDG_RUNTIME_DIR="$run" \
        CONTAINERS_CONF="$work/containers.conf" CONTAINERS_STORAGE_CONF="$work/storage.conf" \
        BOCKER_ROOT="$work/home/bocker" "$@"
}
cleanup() {
    as_user podman rm --all --force >/dev/null 2>&1 || true
    BOCKER_ROOT="$work/root" "$work/bocker" system reset --force >/dev/null 2>&1 || true
    # The user's copies may hold files of its subordinate ids.
    as_user podman unshare rm -rf "$work/home/storage" >/dev/null 2>&1 || true
    # Rootless podman's pause process holds its user namespace (the
    # `unshare` above may have started one again).
    pkill -u "$user" -x catatonit 2>/dev/null || true
    sleep 0.2
    pkill -KILL -u "$user" -x catatonit 2>/dev/null || true
    umount "$work" 2>/dev/null || umount -l "$work" 2>/dev/null || true
    rm -rf "$work" "$work.ext4" "$run"
}
trap cleanup EXIT
mkdir -m 0755 "$work"
truncate -s 1G "$work.ext4"
mkfs.ext4 -q "$work.ext4"
mount -o loop "$work.ext4" "$work"
chmod 0755 "$work"
mkdir -p "$work/home"
chown "$user:$user" "$work/home"

cargo build --release --quiet --features reference
cp target/release/bocker "$work/bocker"
chmod 0755 "$work/bocker"

# The image: a busybox tree, for bocker (`init`, one copy per user) and
# for podman (an OCI layout made with umoci, as chapter 7 made one).
scripts/make-busybox-rootfs.sh "$work/rootfs" >/dev/null
cp -a "$work/rootfs" "$work/home/rootfs"
chown -R "$user:$user" "$work/home/rootfs"
umoci init --layout "$work/oci" >/dev/null
umoci new --image "$work/oci:bench" >/dev/null
umoci unpack --image "$work/oci:bench" "$work/unpacked" >/dev/null
cp -a "$work/rootfs/." "$work/unpacked/rootfs/"
umoci repack --image "$work/oci:bench" "$work/unpacked" >/dev/null
chown -R "$user:$user" "$work/oci"
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = []
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/home/events.log"
EOF
cat >"$work/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$run/storage"
graphroot = "$work/home/storage"
EOF
chmod 0644 "$work/containers.conf" "$work/storage.conf"

root_image=$(BOCKER_ROOT="$work/root" BOCKER_STORAGE=copy "$work/bocker" init "$work/rootfs" | sed 's/^Created: //')
user_image=$(as_user "$work/bocker" init "$work/home/rootfs" | sed 's/^Created: //')
# An image that may hold files of the user's subordinate ids, as a pull
# or a commit makes (here a commit): its containers are copied by a child
# in a user namespace mapped like theirs (src/runtime/mapped_root.rs).
container=$(as_user "$work/bocker" run -d "$user_image" sleep 100)
mapped_image=$(as_user "$work/bocker" commit "$container" | sed 's/^Created: //')
as_user "$work/bocker" stop --time 0 "$container" >/dev/null
as_user "$work/bocker" rm "$container" >/dev/null
podman_image=$(as_user podman --events-backend file pull -q "oci:$work/oci:bench" 2>/dev/null)

hyperfine --style basic --shell=none --warmup 3 --runs "$runs" \
    --export-json "$work/results.json" \
    -n "bocker as root" \
    "env BOCKER_ROOT=$work/root BOCKER_STORAGE=copy $work/bocker run --rm --net none $root_image true" \
    -n "bocker without root" \
    "setpriv --reuid $user --regid $user --init-groups env HOME=$work/home BOCKER_ROOT=$work/home/bocker $work/bocker run --rm $user_image true" \
    -n "bocker without root, mapped copy" \
    "setpriv --reuid $user --regid $user --init-groups env HOME=$work/home BOCKER_ROOT=$work/home/bocker $work/bocker run --rm $mapped_image true" \
    -n "rootless podman" \
    "setpriv --reuid $user --regid $user --init-groups env HOME=$work/home XDG_RUNTIME_DIR=$run CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf podman --events-backend file run --rm --pull never --network none $podman_image true" \
    >"$work/hyperfine.txt" 2>&1 || { cat "$work/hyperfine.txt"; exit 1; }

echo "$(uname -r); $(nproc) cores; $(podman --version); medians of $runs"
python3 - "$work/results.json" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
median = {r["command"]: r["median"] * 1000 for r in results}
for name, ms in median.items():
    print(f"  {name:<34} {ms:8.2f} ms")
ratio = median["rootless podman"] / median["bocker without root"]
print(f"  bocker without root is {ratio:.1f}x rootless podman's speed")
EOF
