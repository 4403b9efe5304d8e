#!/usr/bin/env bash
# Run some of bocker's test binaries inside a small virtual machine whose
# cgroups are *pure cgroup v2* (one unified hierarchy, every controller in
# it), whatever the host has:
#
#   scripts/v2-guest.sh [--keep DIR] [--timeout SECONDS] [--module NAME]... \
#       -- BOCKER_BINARY TEST_BINARY [TEST_ARGS...] [-- TEST_BINARY [TEST_ARGS...]]...
#
# For example, after `cargo test --features reference --no-run` (which
# prints the test program's path: target/debug/deps/course-HASH), the
# frame's and chapter 1's tests (libtest's name filters):
#
#   scripts/v2-guest.sh -- target/debug/bocker \
#       target/debug/deps/course-HASH frame:: stage1_chroot::
#
# Options:
#   --keep DIR       work in DIR and keep it afterwards (root/ is the guest's
#                    file tree, initrd.cpio what the guest boots from,
#                    console.log everything the guest printed)
#   --timeout S      give up after S seconds (default 900): a hung guest
#                    must not hang CI
#   --module NAME    also load kernel module NAME (and what it depends on)
#                    in the guest, e.g. veth, bridge, loop, btrfs. The
#                    chapters so far need none (the guest always gets
#                    `dummy`, for its one network link, see /init).
#   (V2_GUEST_APPEND="..." adds words to the guest kernel's command line.)
#
# It exits 0 only if every test binary exited 0 in the guest.
#
# How it works, for a reader who knows little about qemu:
#   * qemu-system-x86_64 emulates a whole PC. We hand it a Linux kernel
#     (-kernel) and an *initramfs* (-initrd): a cpio archive that the kernel
#     unpacks into memory and uses as its root filesystem. So the guest
#     needs no disk image at all, and nothing has to be installed into it.
#   * The kernel is Debian's own (the one the metapackage linux-image-amd64
#     points at), downloaded as a .deb and unpacked into a cache, never
#     installed on the host. Debian's kernel mounts nothing by itself; the
#     /init we write mounts cgroup2 alone on /sys/fs/cgroup, so the guest
#     is a pure v2 machine, like a current distribution with systemd.
#   * The initramfs holds a static busybox (the guest's shell and tools),
#     the bocker binary and the test binaries at the same absolute paths as
#     on the host, every shared library they load (from ldd), and the few
#     project files the tests read at run time (scripts/, tests/course/snapshots).
#   * The guest's /init runs each test binary, prints its output between
#     "@@v2-guest:" marker lines on the serial console (which qemu copies to
#     our stdout), then powers the machine off. We read the markers back
#     from the captured console to know who passed.
#   * Emulation is TCG (qemu translating x86 instructions in software), not
#     KVM: KVM hangs on the machines this project runs on. TCG is slower
#     but needs nothing from the host kernel.
set -euo pipefail

self=$(readlink -f "$0")
# The crate's root. The test binaries were compiled with
# CARGO_MANIFEST_DIR = this directory (when built from this checkout), and
# read files below it at run time, so the guest gets them at the same path.
repo=$(cd "$(dirname "$self")/.." && pwd -P)

usage() { # [EXIT_STATUS]
    # This file's first comment, up to "How it works".
    awk 'NR > 1 && /^# How it works/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$self" >&2
    exit "${1:-2}"
}

# --- arguments ---------------------------------------------------------------
all_args=("$@")
keep=""
timeout_s=900
# dummy: Debian's kernel has no network card driver built in, and a machine
# with no link but lo is not like any real host (a test compares the host's
# links with a container's). /init makes a dummy link, "eth0", from it.
modules=(dummy)
while [ $# -gt 0 ]; do
    case "$1" in
        --keep) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
        --timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
        --module) [ $# -ge 2 ] || usage; modules+=("$2"); shift 2 ;;
        --) shift; break ;;
        -h | --help) usage 0 ;;
        *) echo "v2-guest: unknown option $1" >&2; usage ;;
    esac
done
[ $# -ge 2 ] || usage

# Installing packages, the cache in /var/cache and a root-owned initramfs
# need root; like scripts/test.sh, ask sudo for it (paths stay relative to
# the same working directory).
if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$self" "${all_args[@]}"
fi

# The bocker binary, then groups of "TEST_BINARY ARGS..." separated by "--".
# Each test is stored as one line of already-quoted shell words, for /init.
bocker=$(readlink -f "$1")
shift
if [ ! -f "$bocker" ] || [ ! -x "$bocker" ]; then
    echo "v2-guest: $bocker is not an executable file" >&2
    exit 2
fi

# Quote one word for a POSIX shell (busybox ash): 'it'\''s'.
shquote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

test_binaries=() # host (= guest) paths, for copying and for the summary
test_lines=()    # "'/path/test' 'arg' ...", one per test binary
current=""
for arg in "$@" --; do
    if [ "$arg" = "--" ]; then
        [ -n "$current" ] || { echo "v2-guest: empty test group (two -- in a row?)" >&2; exit 2; }
        test_lines+=("$current")
        current=""
    elif [ -z "$current" ]; then
        binary=$(readlink -f "$arg")
        if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
            echo "v2-guest: test binary $arg is not an executable file" >&2
            exit 2
        fi
        test_binaries+=("$binary")
        current=$(shquote "$binary")
    else
        current+=" $(shquote "$arg")"
    fi
done

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t_start=$(now)

# --- work directory and cleanup ---------------------------------------------
# Everything this run makes goes in one directory, removed on any exit
# (also on Ctrl-C or a kill) unless --keep names it. The trap also stops a
# qemu that is still running, so that no process is left behind.
if [ -n "$keep" ]; then
    mkdir -p "$keep"
    work=$(cd "$keep" && pwd -P)
    rm -rf "$work/root" "$work/initrd.cpio" "$work/console.log" "$work/qemu.pid" "$work/qemu.status"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/v2-guest.XXXXXX")
fi
runner=""
cleanup() {
    local pid
    if [ -s "$work/qemu.pid" ]; then
        pid=$(cat "$work/qemu.pid" 2>/dev/null || true)
        # Only if that pid is still our qemu (qemu removes its pid file when
        # it exits, but make sure the number was not reused).
        if [ -n "$pid" ] && grep -q qemu "/proc/$pid/comm" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
        fi
    fi
    if [ -n "$runner" ]; then
        wait "$runner" 2>/dev/null || true
    fi
    if [ -z "$keep" ]; then
        rm -rf "$work"
    else
        echo "v2-guest: kept $work (root/, initrd.cpio, console.log)"
    fi
}
trap cleanup EXIT
trap 'echo "v2-guest: interrupted" >&2; exit 130' INT
trap 'echo "v2-guest: terminated" >&2; exit 143' TERM

# --- 1. what the host needs --------------------------------------------------
# qemu-system-x86: the emulator. busybox-static: the guest's shell and
# tools (the tests need it on the host anyway), and its cpio and depmod,
# which we use to pack the initramfs and index the kernel modules.
# Only what is missing is installed, as scripts/install-deps.sh does.
source "$repo/scripts/lib/packages.sh"
install_missing qemu-system-x86 busybox-static
busybox=$(command -v busybox)

# --- 2. the guest's kernel (downloaded once, cached) ---------------------------
# Debian's generic kernel: it has cgroup2 with every controller, namespaces,
# tmpfs, devtmpfs and a serial console built in, so the guest needs no
# module for what the chapters do so far. We never install it on the host
# (that would touch the host's /boot and bootloader): `apt-get download`
# fetches the .deb, `dpkg-deb -x` unpacks it into the cache. The cache is
# kept across runs; delete /var/cache/bocker-v2-guest to take a newer one.
cache=/var/cache/bocker-v2-guest
mkdir -p "$cache"
t_kernel=$(now)
kernel_note="cached"
{
    # One run at a time fills the cache (two CI jobs may start together).
    flock 9
    if [ ! -e "$cache/current/ok" ]; then
        kernel_note="downloaded"
        # The versioned package the metapackage depends on, e.g.
        # linux-image-6.1.0-56-amd64 on bookworm. apt-cache needs package
        # lists: on a fresh machine, fetch them first.
        find_kernel() { apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 ~ /Depends:/ && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'; }
        download_kernel() {
            kernel_pkg=$(find_kernel)
            [ -n "$kernel_pkg" ] || return 1
            echo "v2-guest: downloading $kernel_pkg (once; it is cached in $cache)"
            rm -rf "$cache/download"
            mkdir -p "$cache/download"
            # apt drops privileges to _apt for downloads; let it write there.
            chown _apt "$cache/download" 2>/dev/null || true
            (cd "$cache/download" && apt-get download -q "$kernel_pkg")
        }
        # Old package lists may name a kernel the mirror no longer has (a
        # security update replaced it): then refresh them and try again.
        if ! download_kernel; then
            apt-get update -q
            download_kernel || { echo "v2-guest: cannot download the kernel that linux-image-amd64 depends on" >&2; exit 1; }
        fi
        dest="$cache/$kernel_pkg"
        rm -rf "$dest"
        mkdir -p "$dest"
        dpkg-deb -x "$cache/download/${kernel_pkg}"_*.deb "$dest"
        rm -rf "$cache/download" "$dest/usr/share/doc"
        version=$(ls "$dest/lib/modules")
        ln -s "boot/vmlinuz-$version" "$dest/vmlinuz"
        echo "$version" > "$dest/version"
        # The .deb has no modules.dep (its postinst makes it with depmod);
        # make it, for --module.
        "$busybox" depmod -b "$dest" "$version"
        touch "$dest/ok"
        ln -sfn "$kernel_pkg" "$cache/current"
    fi
} 9>"$cache/.lock"
kernel_dir=$(readlink -f "$cache/current")
kernel_version=$(cat "$kernel_dir/version")
vmlinuz="$kernel_dir/vmlinuz"
kernel_time=$(since "$t_kernel")

# --- 3. the initramfs ----------------------------------------------------------
t_initrd=$(now)
root="$work/root"
mkdir -p "$root"

# busybox and a link for every applet (sh, cp, mount, ip, nsenter...), plus
# /etc/passwd and friends: the project's own script that makes the tests'
# images does exactly that.
"$repo/scripts/make-busybox-rootfs.sh" "$root"
mkdir -p "$root"/{var/tmp,run,mnt} "$root/var/lib"
echo v2-guest > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost v2-guest\n::1\tlocalhost\n' > "$root/etc/hosts"
ln -sf /proc/self/mounts "$root/etc/mtab"

# Copy a host file to the same path in the guest (following symlinks). A
# busybox applet link already there is removed first: cp would otherwise
# write through it, over busybox itself.
copy_file() {
    mkdir -p "$root$(dirname "$1")"
    rm -f "$root$1"
    cp -L "$1" "$root$1"
}
# A program and every shared library it loads, the dynamic loader included,
# at the paths ldd names (the loader's path is written in the program).
copy_program() {
    copy_file "$1"
    local lib
    for lib in $(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
        [ -e "$root$lib" ] || copy_file "$lib"
    done
}
copy_program "$bocker"
# /bin/sh: the host's (dash on Debian), not busybox's ash. The tests and
# make-busybox-rootfs.sh find busybox with `sh -c 'command -v busybox'`;
# busybox's ash prefers its own applets and answers "busybox", not a path.
host_sh=$(readlink -f /bin/sh)
if [ "$(basename "$host_sh")" != busybox ]; then
    copy_program "$host_sh"
    ln -sfn "$host_sh" "$root/bin/sh"
fi
for binary in "${test_binaries[@]}"; do
    copy_program "$binary"
done

# The host's own ipcs, nsenter and ip (util-linux, iproute2), when it has
# them: the tests call them and were written against them, and busybox has
# no ipcs at all. Every busybox link of the same name points to the copy.
for tool in ipcs nsenter ip; do
    path=$(command -v "$tool" 2>/dev/null) || continue
    path=$(readlink -f "$path")
    [ "$(basename "$path")" != busybox ] || continue
    copy_program "$path"
    for dir in bin sbin usr/bin usr/sbin; do
        if [ -L "$root/$dir/$tool" ]; then
            ln -sfn "$path" "$root/$dir/$tool"
        fi
    done
done

# Project files the tests read at run time, from CARGO_MANIFEST_DIR:
# scripts/make-busybox-rootfs.sh (the tests' images), tests/course/snapshots
# (insta compares output with them), chapters/ (sources the tests
# compile), Cargo.toml.
mkdir -p "$root$repo"
for item in scripts tests chapters Cargo.toml Cargo.lock; do
    [ -e "$repo/$item" ] && cp -a "$repo/$item" "$root$repo/"
done

# Static helper programs the tests would compile with rustc at run time
# (chapter 1's escape), compiled here: the guest has no toolchain. The test
# support takes them from BOCKER_STATIC_PROGRAMS.
static_dir=/opt/bocker-static-programs
mkdir -p "$root$static_dir"
if command -v rustc >/dev/null 2>&1; then
    rustc -O -C target-feature=+crt-static -o "$root$static_dir/escape" "$repo/chapters/01-chroot/escape.rs"
fi

# Kernel modules (dummy, and those asked for with --module): the .ko files
# of each and of what it depends on (modules.dep), for busybox modprobe in
# the guest. The kernel also runs /sbin/modprobe (busybox's) by itself when
# a program needs a module that is here but not loaded yet.
moddir="lib/modules/$kernel_version"
mkdir -p "$root/$moddir"
cp "$kernel_dir/$moddir"/modules.{dep,alias,symbols,builtin,order} "$root/$moddir/" 2>/dev/null || true
for name in "${modules[@]}"; do
    line=$(awk -v want="$name" '{ file = $1; sub(/:$/, "", file); base = file; sub(/.*\//, "", base); sub(/\.ko.*$/, "", base); gsub(/-/, "_", base); w = want; gsub(/-/, "_", w); if (base == w) { print; exit } }' "$kernel_dir/$moddir/modules.dep")
    [ -n "$line" ] || { echo "v2-guest: kernel $kernel_version has no module $name" >&2; exit 2; }
    for ko in $line; do
        ko=${ko%:}
        mkdir -p "$root/$moddir/$(dirname "$ko")"
        cp "$kernel_dir/$moddir/$ko" "$root/$moddir/$ko"
    done
done

# The guest's /init, run by the kernel as process 1. It is a busybox shell
# script in two stages:
#
# stage 1 runs on the initramfs's own root, "rootfs". pivot_root(2), which
# bocker calls to enter a container, refuses (EINVAL) to move away from a
# root that is rootfs: rootfs is the top of the whole mount tree and has no
# parent mount. So /init first copies everything into a real tmpfs and
# makes that the root (`switch_root`, which also frees rootfs's copy),
# as every initramfs's init does before starting a real system.
#
# stage 2 sets the machine up the way a systemd distribution would (proc,
# sys, dev, tmpfs on /tmp, cgroup2 alone on /sys/fs/cgroup), then runs the
# tests.
manifest_q=$(shquote "$repo")
bocker_q=$(shquote "$bocker")
{
    cat <<'EOF'
#!/bin/busybox sh
# The v2 guest's init (written by scripts/v2-guest.sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
say() { echo "@@v2-guest: $*"; }

if [ "${1:-}" != stage2 ]; then
    mkdir -p /newroot
    mount -t tmpfs -o mode=0755 tmpfs /newroot
    for entry in /*; do
        [ "$entry" = /newroot ] || cp -a "$entry" /newroot/
    done
    exec switch_root /newroot /init stage2
    say "switch_root failed"
    exit 1
fi

# --- the usual pseudo-filesystems, as a distribution mounts them ---
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm
# A tmpfs of its own on /tmp, /var/tmp and /run. Whatever the initramfs put
# there (test binaries built under /tmp, say) is moved into the new tmpfs,
# not hidden under it.
mount_tmpfs() { # DIR MODE
    if [ -n "$(ls -A "$1")" ]; then
        mv "$1" /.stash
        mkdir -p "$1"
        mount -t tmpfs -o "nosuid,nodev,mode=$2" tmpfs "$1"
        cp -a /.stash/. "$1"/
        rm -rf /.stash
    else
        mount -t tmpfs -o "nosuid,nodev,mode=$2" tmpfs "$1"
    fi
}
mount_tmpfs /tmp 1777
mount_tmpfs /var/tmp 1777
mount_tmpfs /run 0755
hostname v2-guest
ip link set lo up

# --- pure cgroup v2 ---
# Only the unified hierarchy, with the options systemd uses (nsdelegate:
# a cgroup namespace is a delegation boundary; memory_recursiveprot:
# memory.min/low protect a whole subtree). No v1 hierarchy is mounted, so
# every controller belongs to this one.
mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
# Let child cgroups use every controller this kernel has ("+cpu +memory
# ..."), as systemd does at the top.
enable=""
for controller in $(cat /sys/fs/cgroup/cgroup.controllers); do
    enable="$enable +$controller"
done
echo "$enable" > /sys/fs/cgroup/cgroup.subtree_control || say "WARNING: could not enable$enable"
# Leave the root cgroup, which is special (it has no cpu.max, memory.max...
# and is exempt from the "no processes in inner cgroups" rule): like systemd,
# init lives in init.scope, and so do the tests it starts.
mkdir -p /sys/fs/cgroup/init.scope
echo $$ > /sys/fs/cgroup/init.scope/cgroup.procs

say "kernel: $(uname -r)"
say "cgroup mounts: $(grep -E ' cgroup2? ' /proc/mounts | tr '\n' ';')"
say "cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
say "cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
say "cgroup v1 hierarchies in use: $(awk 'NR > 1 && $2 != 0' /proc/cgroups | wc -l) (0: every controller is on cgroup2)"
say "init's cgroup: $(cat /proc/self/cgroup)"
EOF
    # What this run is about: the modules to load, the environment, the tests.
    for name in "${modules[@]}"; do
        echo "modprobe $(shquote "$name") || say $(shquote "WARNING: modprobe $name failed")"
    done
    cat <<'EOF'
# A network link besides lo, as every real machine has (no traffic: it
# is a dummy, not connected to anything).
if ! { ip link set dummy0 name eth0 && ip link set eth0 up; }; then
    say "WARNING: no eth0"
fi
say "network links: $(echo /sys/class/net/* | sed 's|/sys/class/net/||g')"
EOF
    cat <<EOF
# The tests' environment. BOCKER_UNDER_TEST: the support code runs this
# bocker; CARGO_BIN_EXE_bocker: what cargo would set (assert_cmd reads it);
# INSTA_WORKSPACE_ROOT: where insta finds the snapshots, without running
# \`cargo metadata\` (there is no cargo here).
export BOCKER_UNDER_TEST=$bocker_q CARGO_BIN_EXE_bocker=$bocker_q
export CARGO_MANIFEST_DIR=$manifest_q INSTA_WORKSPACE_ROOT=$manifest_q
export RUST_BACKTRACE=0 TMPDIR=/tmp INSTA_UPDATE=no HOME=/root
export BOCKER_STATIC_PROGRAMS=$static_dir
cd $manifest_q || say "WARNING: no $manifest_q"
EOF
    cat <<'EOF'
failed=0
run_test() { # N PROGRAM ARGS...
    n=$1
    shift
    say "BEGIN test $n: $* (guest uptime $(cut -d' ' -f1 /proc/uptime) s)"
    # Through a pipe, as under CI: libtest then prints no colour codes.
    ( "$@" </dev/null 2>&1; echo $? > "/run/status.$n" ) | cat
    status=$(cat "/run/status.$n" 2>/dev/null || echo lost)
    say "END test $n: exit status $status (guest uptime $(cut -d' ' -f1 /proc/uptime) s)"
    [ "$status" = 0 ] || failed=$((failed + 1))
}
EOF
    n=0
    for line in "${test_lines[@]}"; do
        n=$((n + 1))
        echo "run_test $n $line"
    done
    cat <<'EOF'
say "ALL DONE: $failed failed"
sync
# Power the machine off: qemu then exits. If that did not work, the sysrq
# key does the same; and if /init ever ends, the kernel panics, and
# panic=-1 with qemu's -no-reboot ends qemu too.
poweroff -f
echo o > /proc/sysrq-trigger
sleep 10
EOF
} > "$root/init"
chmod 0755 "$root/init"

# Pack it: cpio "newc" is the format the kernel unpacks; every file owned by
# root. Not compressed: the archive is mostly the test binaries, and
# unpacking a plain archive is faster for the emulated CPU than gunzip.
(cd "$root" && find . | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) > "$work/initrd.cpio"
initrd_size=$(du -m "$work/initrd.cpio" | cut -f1)
initrd_time=$(since "$t_initrd")
echo "v2-guest: kernel $kernel_version ($kernel_note, ${kernel_time}s), initramfs ${initrd_size} MB (${initrd_time}s)"

# --- 4. boot it -----------------------------------------------------------------
# -nographic: no window; the guest's serial port (ttyS0, its console) is
#   our stdin/stdout. stdin is /dev/null, so nothing can be typed at it.
# -no-reboot: when the guest reboots (or panics, panic=-1), qemu exits.
# -accel tcg: software emulation (never KVM here: it hangs).
# -cpu max: every CPU feature TCG can emulate (rdrand for the kernel's
#   random numbers, among others). -smp 2 -m 2048: two CPUs, 2 GiB.
# -nic none: no network card, no way out (the guest's only link besides lo
#   is the dummy eth0 that /init makes).
# Kernel command line: console on the serial port; quiet (warnings only);
# panic=-1 reboots at once on a panic, which -no-reboot turns into an exit.
# Run in the background so that the traps can stop it; qemu writes its pid
# for them. `timeout` bounds the whole run.
log="$work/console.log"
append="console=ttyS0 quiet panic=-1 ${V2_GUEST_APPEND:-}"
echo "v2-guest: booting (timeout ${timeout_s}s)"
t_boot=$(now)
(
    set +e
    timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
        -accel tcg -cpu max -smp 2 -m 2048 \
        -nographic -no-reboot -nic none \
        -kernel "$vmlinuz" -initrd "$work/initrd.cpio" -append "$append" \
        -pidfile "$work/qemu.pid" </dev/null 2>&1 |
        sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' \
            -e '/^SeaBIOS (version/d' -e '/^Booting from ROM/d' | tee "$log"
    echo "${PIPESTATUS[0]}" > "$work/qemu.status"
) &
runner=$!
wait "$runner"
runner=""
guest_time=$(since "$t_boot")
qemu_status=$(cat "$work/qemu.status" 2>/dev/null || echo "?")

# --- 5. what happened ------------------------------------------------------------
echo
echo "=== v2-guest summary"
grep -a '^@@v2-guest: \(kernel\|cgroup\|network\)' "$log" || true
first=$(grep -a -m1 '^@@v2-guest: BEGIN test 1:' "$log" | sed -n 's/.*guest uptime \([0-9.]*\) s.*/\1/p' || true)
echo "timings: kernel ${kernel_time}s ($kernel_note), initramfs ${initrd_time}s (${initrd_size} MB), boot to first test ${first:-?}s (guest uptime), qemu ${guest_time}s, total $(since "$t_start")s"
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
    echo "v2-guest: the guest did not finish within ${timeout_s}s" >&2
fi
failures=0
n=0
for binary in "${test_binaries[@]}"; do
    n=$((n + 1))
    status=$(grep -a -m1 "^@@v2-guest: END test $n: exit status " "$log" | sed -n 's/.*exit status \([^ ]*\).*/\1/p' || true)
    if [ "$status" = 0 ]; then
        echo "ok     $binary"
    else
        echo "FAILED $binary (exit status ${status:-none: it did not finish})"
        failures=$((failures + 1))
    fi
done
if ! grep -aq '^@@v2-guest: ALL DONE' "$log"; then
    echo "v2-guest: the guest did not get to the end of its tests (qemu exit status $qemu_status)" >&2
    failures=$((failures + 1))
fi
if [ "$failures" -gt 0 ]; then
    echo "v2-guest: FAILED"
    exit 1
fi
echo "v2-guest: all ${#test_binaries[@]} test binaries passed in the pure cgroup v2 guest"
