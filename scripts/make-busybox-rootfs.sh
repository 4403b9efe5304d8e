#!/bin/sh
# Make a tiny root filesystem from the host's static busybox:
#   scripts/make-busybox-rootfs.sh DIR
# DIR gets bin/busybox, a link for every applet (sh, ls, cat, ps, ...),
# and the few files and directories that programs expect.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1

busybox=$(command -v busybox || true)
if [ -z "$busybox" ]; then
    echo "error: busybox not found; install it with: apt-get install busybox-static" >&2
    exit 1
fi
# A dynamically linked busybox would need the host's libc inside the image.
if ! "$busybox" --list >/dev/null 2>&1 || (command -v ldd >/dev/null && ldd "$busybox" 2>/dev/null | grep -q '=>'); then
    echo "error: $busybox is not a static busybox; install it with: apt-get install busybox-static" >&2
    exit 1
fi

mkdir -p "$dir"
cd "$dir"
mkdir -p bin sbin usr/bin usr/sbin etc root tmp proc sys dev home
chmod 1777 tmp
chmod 0700 root
cp "$busybox" bin/busybox
# Every applet is a symlink to busybox, which looks at the name it was
# started with (argv[0]) to know what to be.
# Relative links (usr/bin/env -> ../../bin/busybox), so that they also
# work when the directory is looked at from the host.
for applet in $(./bin/busybox --list-full); do
    case "$applet" in
        bin/busybox) continue ;;
        */*/*) target=../../bin/busybox ;;
        */*) target=../bin/busybox ;;
        *) target=bin/busybox ;;
    esac
    ln -s "$target" "$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' > etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' > etc/group
echo busybox > etc/hostname
echo 'NAME="busybox rootfs for Bocker in Rust"' > etc/os-release
