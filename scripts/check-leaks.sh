#!/usr/bin/env bash
# After the tests: nothing of theirs may remain on the host. Each test also
# checks its own leaks; this catches what escapes those checks (a test that
# panicked before its check, a process that outlived its test).
set -uo pipefail
status=0
fail() { echo "leak: $*"; status=1; }

# Mounts that mention a test's temporary directory.
grep -F bocker-test- /proc/self/mountinfo && fail "mounts under a test directory remain"
# Processes whose root, working directory or program is inside a test
# directory: a container (or monitor, or exec) that outlived its test.
for proc in /proc/[0-9]*; do
    for link in root cwd exe; do
        target=$(readlink "$proc/$link" 2>/dev/null) || continue
        case "$target" in
            */bocker-test-*) fail "process ${proc#/proc/} ($(cat "$proc/comm" 2>/dev/null)) has its $link in $target" ;;
        esac
    done
done
# Loop devices backed by a test's files: a btrfs file bocker made in a
# test's state root, or the btrfs a test binary shares (chapter 6).
for backing in /sys/block/loop*/loop/backing_file; do
    [ -e "$backing" ] && grep -qE 'bocker-test-|bocker-btrfs-' "$backing" && fail "$(dirname "$(dirname "$backing")") backs $(cat "$backing")"
done
grep -F bocker-btrfs- /proc/self/mountinfo && fail "a test binary's shared btrfs is still mounted"
find target/tmp target/mutants/target/tmp -maxdepth 1 -name 'bocker-btrfs-*' 2>/dev/null | grep . && fail "a test binary's shared btrfs file remains"
# Chapter 7: registries the tests started (each in a test's own
# directory) and their fixture folders.
for proc in /proc/[0-9]*; do
    if [ "$(cat "$proc/comm" 2>/dev/null)" = docker-registry ] &&
        tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -q bocker; then
        fail "registry ${proc#/proc/} still runs: $(tr '\0' ' ' <"$proc/cmdline")"
    fi
done
# Without root: a pasta that bocker started (its pid file is in a
# container's folder) must end with its container.
for proc in /proc/[0-9]*; do
    if tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -q -- '--pid [^ ]*/pasta\.pid'; then
        fail "pasta ${proc#/proc/} still runs: $(tr '\0' ' ' <"$proc/cmdline")"
    fi
done
find "${TMPDIR:-/tmp}" -maxdepth 1 -type d -name 'bocker-test-fixtures-*' 2>/dev/null | grep . &&
    fail "registry fixtures remain"
# The tmpfs a test program mounts for its tests' directories
# (/tmp/bocker-tests-PID), unmounted and removed when it exits.
grep -F bocker-tests- /proc/self/mountinfo && fail "a test program's tmpfs is still mounted"
find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'bocker-tests-*' 2>/dev/null | grep . && fail "a test program's tmpfs mount point remains"
# Temporary directories the tests did not remove.
leftover=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -type d -name 'bocker-test-*' 2>/dev/null)
[ -n "$leftover" ] && fail "test directories remain: $leftover"
# System V IPC objects the tests made on the host (their keys start 0x626f).
ipcs -m 2>/dev/null | grep -qi '^0x626f' && fail "shared-memory segments of the tests remain: $(ipcs -m | grep -i '^0x626f')"
# Links and cgroups named after bocker. (A container's network namespace
# has no name in /run/netns: bocker makes it with clone. It lives only
# while a process, a descriptor or a mount holds it, which the checks of
# processes and mounts above find.)
# (The tests make their bridges and veths in namespaces of their own: none
# of bocker's may appear in the host's.)
ls /sys/class/net | grep -qE '^(bocker|bk[0-9a-f]{12}|bc[0-9a-f]{12})' && fail "network links remain: $(ls /sys/class/net)"
if command -v iptables >/dev/null 2>&1; then
    for table in nat filter; do
        iptables -w -t "$table" -S 2>/dev/null | grep -q 'bocker:' && fail "iptables rules of bocker remain in the host's $table table"
    done
fi
# Every cgroup hierarchy, v1 controllers and the v2 (unified) one alike.
while read -r point; do
    remaining=$(find "$point" -mindepth 1 -maxdepth 2 -type d \( -path "$point/bocker/ps_*" -o -name 'bocker-test-*' \) 2>/dev/null | head -n 3)
    [ -n "$remaining" ] && fail "cgroups remain: $remaining"
done < <(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) ~ /^cgroup2?$/) print $5; break } }' /proc/self/mountinfo)
[ "$status" -eq 0 ] && echo "no leaks"
exit "$status"
