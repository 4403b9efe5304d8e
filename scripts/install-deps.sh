#!/usr/bin/env bash
# Install what bocker's course needs on a fresh Debian or Ubuntu machine.
# Idempotent: installs only what is missing. Run as root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run me as root (sudo $0)" >&2
    exit 1
fi

# busybox-static: the image the tests and the demo run.
# util-linux: unshare, nsenter, ipcmk/ipcs (tests look from the host).
# iproute2: `ip`, used by tests to look at links from the host.
# libc6-dev, gcc: static linking of the chroot-escape demo program.
# sudo: the cargo runner re-runs tests through it for non-root students.
# iptables: chapter 5's NAT rules (the runtime runs it; see nat.rs).
# btrfs-progs: chapter 6: mkfs.btrfs for the btrfs file bocker makes; the
#   tests look at subvolumes with `btrfs`.
# strace: chapter 6's transcripts watch the btrfs ioctls.
# docker-registry, skopeo, umoci: chapter 7's tests run a real registry
#   on 127.0.0.1 and push images built by umoci to it with skopeo.
# apache2-utils (htpasswd), openssl: the tests' registries with a password
#   and with tokens (a certificate, and signed tokens).
# curl, jq: chapter 7's transcripts show the raw HTTP exchange.
# zstd: the tests make a zstd-compressed layer.
# podman, conmon, containerd: the OCI runtime interface's tests (after
#   chapter 8) let podman and containerd's ctr drive bocker, with their
#   storage in the test's own folder.
# uidmap: chapter 9's set-user-ID helpers newuidmap and newgidmap, which
#   map an ordinary user's subordinate ids (/etc/subuid) into a container.
# passt: pasta, the network of containers run without root (--net pasta).
source "$(dirname "$(readlink -f "$0")")/lib/packages.sh"
install_missing busybox-static util-linux iproute2 libc6-dev gcc sudo procps iptables btrfs-progs strace \
    docker-registry skopeo umoci apache2-utils openssl curl jq zstd podman conmon containerd uidmap passt

# Docker's default seccomp profile, which chapter 8's tests compare
# bocker's with: the one file, from Debian's package of moby's sources (the
# package itself would bring 258 others).
docker_profile=/usr/local/share/bocker/docker-seccomp-default.json
if [ ! -f "$docker_profile" ]; then
    echo "install-deps: fetching Docker's default seccomp profile"
    scratch=$(mktemp -d)
    (cd "$scratch" && apt-get download -q golang-github-docker-docker-dev >/dev/null 2>&1) || {
        apt-get update -q
        (cd "$scratch" && apt-get download -q golang-github-docker-docker-dev)
    }
    dpkg -x "$scratch"/golang-github-docker-docker-dev_*.deb "$scratch/root"
    install -D -m 0644 \
        "$scratch/root/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json" \
        "$docker_profile"
    rm -rf "$scratch"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "install-deps: Rust is missing: install it with rustup (https://rustup.rs), then run me again" >&2
    exit 1
fi

# mdbook, to build the book, and Debian's Chromium with a fixed set of
# fonts, to check it in a browser (`cargo xtask book-browser`); only when
# asked: the demo needs neither.
if [ "${1:-}" = "--with-book" ]; then
    install_missing chromium fonts-dejavu-core
    if ! command -v mdbook >/dev/null 2>&1; then
        echo "install-deps: installing mdbook 0.5.4 (cargo install, a few minutes)"
        cargo install mdbook --version 0.5.4 --locked --quiet
    fi
fi
echo "install-deps: ok"
