#!/usr/bin/env bash
# After the tests: nothing of theirs may remain on the host. Each test also
# checks its own leaks; this catches what escapes those checks (a test that
# panicked before its check, a process that outlived its test).
set -uo pipefail
status=0
fail() { echo "leak: $*"; status=1; }

# Mounts that mention a test's temporary directory.
grep -F bocker-test- /proc/self/mountinfo && fail "mounts under a test directory remain"
# Processes whose root or working directory is inside a test directory:
# a container (or monitor) that outlived its test.
for proc in /proc/[0-9]*; do
    for link in root cwd; do
        target=$(readlink "$proc/$link" 2>/dev/null) || continue
        case "$target" in
            */bocker-test-*) fail "process ${proc#/proc/} ($(cat "$proc/comm" 2>/dev/null)) is still in $target" ;;
        esac
    done
done
# Loop devices backed by a test's files.
for backing in /sys/block/loop*/loop/backing_file; do
    [ -e "$backing" ] && grep -q bocker-test- "$backing" && fail "$(dirname "$(dirname "$backing")") backs $(cat "$backing")"
done
# Temporary directories the tests did not remove.
leftover=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -type d -name 'bocker-test-*' 2>/dev/null)
[ -n "$leftover" ] && fail "test directories remain: $leftover"
# Network namespaces, links and cgroups named after bocker.
ls /run/netns 2>/dev/null | grep -q '^ps_' && fail "network namespaces remain: $(ls /run/netns)"
ls /sys/class/net | grep -qE '^(bocker|veth_ps|bkr)' && fail "network links remain"
for controller in /sys/fs/cgroup/*/; do
    [ -d "$controller/bocker" ] && [ -n "$(ls -A "$controller/bocker" 2>/dev/null | grep '^ps_')" ] && fail "cgroups remain in $controller/bocker"
done
[ "$status" -eq 0 ] && echo "no leaks"
exit "$status"
