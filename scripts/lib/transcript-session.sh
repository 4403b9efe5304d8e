#!/usr/bin/env bash
# The book's shell sessions: one chapter's session, and the helpers that
# every chapter's session uses.
#   bash scripts/lib/transcript-session.sh CHAPTER WORK
# is what `cargo xtask transcripts` (xtask/src/transcripts/) runs for each
# chapter, once it has built the variants of bocker the chapter uses into
# WORK/bin. Not by hand: it expects to be where xtask puts it,
#   * in a private mount namespace, where /tmp is a fresh scratch folder
#     (every mount made here disappears with the namespace), the project is
#     bind-mounted (read-only) on WORK/repo and that is the current folder;
#   * in a private network namespace, which this script makes into a
#     stand-in host: lo, and a network card eth0 (192.0.2.1/24);
#   * with a clean environment, as in a fresh root shell.
#
# It sources chapters/CHAPTER/transcripts/session.sh, the commands of that
# chapter's pages as a student types them in the root shell of chapter 0,
# and the helpers below write them, with what they print, to
# WORK/new/chapters/CHAPTER/transcripts/NAME.txt. A page includes one in a
# ```text fence: {{#include transcripts/NAME.txt}}.
#
# Each chapter runs alone, from a fresh /tmp and a fresh stand-in host: a
# session starts by making, quietly, what the earlier chapters would have
# left (an image, a bridge, the variables the student exported), so that a
# chapter makes the same transcripts alone as after the others.
#
# However the session ends (done, an error, or the TERM that xtask sends on
# Ctrl-C), the trap below stops the containers it left running, resets the
# state folders that have a btrfs file (their records are on a btrfs
# mounted in this namespace only), and stops chapter 7's registry.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 CHAPTER WORK (run by cargo xtask transcripts)" >&2
    exit 2
fi
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net 2>/dev/null)" ]; then
    echo "transcript-session: not in a namespace of its own: run it with cargo xtask transcripts" >&2
    exit 2
fi
chapter=$1
work=$2
bins=$work/bin          # the variants of bocker, by name (stage5, reference, ...)
programs=$work/programs # chapter 1's escape, chapter 8's attacks
outdir=$work/new/chapters/$chapter/transcripts
mkdir -p "$outdir"

# ------------------------------------------------------------------ helpers

shown_vars=()
current=""

# out NAME: the commands that follow go to transcripts/NAME.txt (appended
# if already written to in this session).
declare -A opened=()
out() {
    local file=$outdir/$1.txt
    if [ -n "${opened[$file]:-}" ]; then
        exec 3>>"$file"
    else
        exec 3>"$file"
        opened[$file]=1
    fi
    current=$file
}

# use BUILD: which build of bocker the `bocker` command is from now on.
# (xtask builds the ones that a chapter's session.sh names on `use` lines.)
use() {
    if [ ! -x "$bins/$1" ]; then
        echo "transcript-session: no build '$1' (xtask builds what session.sh names on 'use' lines)" >&2
        return 1
    fi
    bocker_bin=$bins/$1
}

# The student's `bocker`. exec -a: the process is named `bocker`, as it is
# for a student who has it on PATH or as an alias (ps shows it).
bocker() { (exec -a bocker "$bocker_bin" "$@"); }

# var NAME=VALUE: a session variable; in the transcript, $NAME in a command
# is shown as its value, as the student would have typed it.
var() {
    printf -v "${1%%=*}" '%s' "${1#*=}"
    shown_vars+=("${1%%=*}")
}

shown() {
    local line=$1 name
    [ ${#shown_vars[@]} -gt 0 ] || { printf '%s' "$line"; return; }
    # Longest names first: $IMG2 is not $IMG followed by 2.
    for name in $(printf '%s\n' "${shown_vars[@]}" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2); do
        line=${line//\$$name/${!name}}
    done
    printf '%s' "$line"
}

# cmds: run each line of stdin as a command of the root shell, writing the
# prompt line and then everything it prints (stdout and stderr, in order).
cmds() {
    local line
    while IFS= read -r line; do
        printf '# %s\n' "$(shown "$line")" >&3
        { eval "$line"; } </dev/null >&3 2>&1 || true
    done
}

# student: from now on `student_cmds` runs lines as an ordinary user,
# `student` (uid and gid 1000, home /tmp/student), who has the subordinate
# ids 100000-165535. For that, in this session's mount namespace only:
# /etc/passwd, /etc/group, /etc/subuid and /etc/subgid of the session's
# own are bound over the host's, and /dev/net/tun is open to all, as
# distributions make it (pasta needs it).
student() {
    mkdir -p /tmp/student/.etc /tmp/student/bin
    printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nstudent:x:1000:1000:student:/tmp/student:/bin/bash\n' >/tmp/student/.etc/passwd
    printf 'root:x:0:\nnogroup:x:65534:\nstudent:x:1000:\n' >/tmp/student/.etc/group
    echo 'student:100000:65536' >/tmp/student/.etc/subids
    for file in passwd group; do
        mount --bind "/tmp/student/.etc/$file" "/etc/$file"
    done
    mount --bind /tmp/student/.etc/subids /etc/subuid
    mount --bind /tmp/student/.etc/subids /etc/subgid
    mount -t tmpfs -o mode=755 tmpfs /dev/net
    mknod -m 666 /dev/net/tun c 10 200
    chown -R 1000:1000 /tmp/student
}

# student_cmds: as cmds, as the student: a `$` prompt, and each line run
# by the student's shell (in the project's folder, as the others), where
# `bocker` is the current build (a copy the student may run: the builds'
# folder may be root's alone).
student_cmds() {
    local line name variables=()
    install -m 755 "$bocker_bin" /tmp/student/bin/bocker
    # The session's variables ($IMG9…), as the student set them.
    for name in "${shown_vars[@]}"; do
        variables+=("$name=${!name}")
    done
    while IFS= read -r line; do
        printf '$ %s\n' "$(shown "$line")" >&3
        setpriv --reuid 1000 --regid 1000 --clear-groups \
            env -i HOME=/tmp/student USER=student PATH=/tmp/student/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            "${variables[@]}" bash -c "$line" </dev/null >&3 2>&1 || true
    done
}

# The host pid of the student's container ID (see running_pid).
student_running_pid() {
    BOCKER_ROOT=/tmp/student/.local/share/bocker running_pid "$1"
}

# todo_line: the report of the first todo!() of an untouched exercise, as
# the student sees it: the `bocker: unfinished exercise` line of stdin.
todo_line() { grep '^bocker: unfinished exercise' >&3; }

# The last id with this prefix in the current transcript.
last_id() { grep -o "${1}_[0-9a-f]\{12\}" "$current" | tail -n 1; }

# program NAME: a program that the pages build with rustc before the
# session (chapter 1's escape, chapter 8's attacks), where they put it:
# /tmp/NAME. xtask compiles it into WORK/programs.
program() { cp "$programs/$1" "/tmp/$1"; }

# Wait (silently) until a process has a handler for SIGTERM (bit 15 of
# SigCgt), as a student's slower typing would.
wait_for_term_handler() {
    local pid=$1 i mask
    for i in $(seq 100); do
        mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        if [ $(( 0x${mask:-0} & 0x4000 )) -ne 0 ]; then
            return 0
        fi
        sleep 0.05
    done
    echo "transcript-session: process $pid never installed its SIGTERM handler" >&2
    return 1
}

running_pid() { # running_pid CONTAINER_ID: its host pid, from its record
    # The top-level "pid" (2 spaces in), not the keeper's.
    sed -n 's/^  "pid": \([0-9]*\).*/\1/p' "$BOCKER_ROOT/containers/$1/container.json"
}

# Wait (silently) until container NAME has written the line LINE to its
# log, as a student watching its output would.
wait_for_line() {
    local name=$1 line=$2 i
    for i in $(seq 400); do
        # Not `bocker logs | grep -q`: under pipefail, grep's early exit
        # would fail the pipeline (see wait_for_listener).
        if grep -qx -- "$line" <(bocker logs "$name" 2>/dev/null); then
            return 0
        fi
        sleep 0.05
    done
    echo "transcript-session: container $name never printed $line" >&2
    return 1
}

# Wait (silently) until the record of container ID says it has exited.
wait_for_exit() {
    local id=$1 i
    for i in $(seq 400); do
        if grep -q '"status": "exited"' "$BOCKER_ROOT/containers/$id/container.json" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    echo "transcript-session: container $id never exited" >&2
    return 1
}

# Wait (silently) until process PID's network namespace has a TCP socket
# listening on PORT (in /proc/PID/net/tcp or tcp6: a local address ending
# in :PORT, in hex, and the state 0A), as a student would wait for a
# server to start.
wait_for_listener() {
    local pid=$1 port i
    port=$(printf '%04X' "$2")
    for i in $(seq 400); do
        # grep reads the files itself: `cat … | grep -q` fails under
        # pipefail when grep stops at its match and cat, still writing,
        # gets SIGPIPE (a long socket table made that happen at random).
        if grep -Eqs "^ *[0-9]+: [0-9A-F]+:$port [0-9A-F]+:0000 0A " \
            "/proc/$pid/net/tcp" "/proc/$pid/net/tcp6"; then
            return 0
        fi
        sleep 0.05
    done
    echo "transcript-session: process $pid never listened on port $2" >&2
    return 1
}

# Wait (silently) a moment: the kernel updates a link's state (UP, DOWN,
# NO-CARRIER) a little after the change that causes it, in the background.
# A student typing the next command sees the settled state.
settle() { sleep 1.5; }

# ------------------------------------- what the earlier chapters left behind

# chapter0_image BUILD: chapter 0's image, made quietly with BUILD: the
# busybox tree /tmp/busybox, made into an image in the state folder
# /tmp/book-demo (copies). Sets $IMG, shown in commands as its value.
chapter0_image() {
    local id
    scripts/make-busybox-rootfs.sh /tmp/busybox >/dev/null
    id=$(BOCKER_ROOT=/tmp/book-demo BOCKER_STORAGE=copy "$bins/$1" init /tmp/busybox |
        grep -o 'img_[0-9a-f]\{12\}')
    var IMG="$id"
}

# chapter5_bridge BUILD: the bridge that chapter 5 leaves on the stand-in
# host, made quietly with BUILD (chapter 5 solved): bocker0, made by the
# state folder /tmp/book-ch5 (so another folder's `system reset` leaves
# it), with no container and no lease on it (so another folder may use it).
chapter5_bridge() {
    local id i
    scripts/make-busybox-rootfs.sh /tmp/bb5 >/dev/null
    id=$(BOCKER_ROOT=/tmp/book-ch5 BOCKER_STORAGE=copy "$bins/$1" init /tmp/bb5 |
        grep -o 'img_[0-9a-f]\{12\}')
    BOCKER_ROOT=/tmp/book-ch5 BOCKER_STORAGE=copy "$bins/$1" run --rm "$id" true
    # A lease is given back once the kernel has deleted the veth pair:
    # the next command of that state folder sweeps it.
    for i in $(seq 100); do
        BOCKER_ROOT=/tmp/book-ch5 BOCKER_STORAGE=copy "$bins/$1" ps >/dev/null
        if [ -z "$(ls -A /tmp/book-ch5/network/bridges/bocker0/leases)" ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "transcript-session: chapter 5's lease on bocker0 was never given back" >&2
    return 1
}

# --------------------------------------------------------- the way out

# Chapter 7's registry (a `docker-registry serve`, started in the
# background by its session, which sets registry_pid): stopped, quietly, if
# it still runs. The session stops it itself (`kill %1`); this is for the
# way out after an error.
registry_pid=""
stop_registry() {
    if [ -n "$registry_pid" ]; then
        kill -TERM "$registry_pid" 2>/dev/null || true
        wait "$registry_pid" 2>/dev/null || true
        registry_pid=""
    fi
}

# The first of these builds that this run has (xtask builds only what the
# chapter uses): one that can stop a container of any earlier build (stage
# 4 and later thaw a paused one first), one that knows btrfs state.
first_build() {
    local b
    for b in "$@"; do
        if [ -x "$bins/$b" ]; then
            printf '%s' "$bins/$b"
            return 0
        fi
    done
}

# Stop the containers still running in every state folder under /tmp,
# then `system reset --force` each one that has a btrfs file: the btrfs is
# unmounted, its loop device frees itself (LO_FLAGS_AUTOCLEAR), the file is
# deleted. Quietly, and never failing: it runs on the way out. (Whatever it
# cannot reset is unmounted anyway when the namespace's last process ends.)
stop_everything() {
    local record root stopper file
    exec 3>&-
    # The student's containers (chapter 9), stopped by the student.
    for record in /tmp/student/.local/share/bocker/containers/ps_*/container.json; do
        [ -f "$record" ] && grep -q '"status": "running"' "$record" || continue
        setpriv --reuid 1000 --regid 1000 --clear-groups env HOME=/tmp/student \
            /tmp/student/bin/bocker stop -t 0 "$(basename "$(dirname "$record")")" >/dev/null 2>&1 || true
    done
    for record in /tmp/*/containers/ps_*/container.json /tmp/*/btrfs/containers/ps_*/container.json; do
        [ -f "$record" ] || continue
        grep -q '"status": "running"' "$record" || continue
        root=${record%/containers/*}
        case $root in
            */btrfs) root=${root%/btrfs}; stopper=$(first_build reference stage7 stage6) ;;
            *) stopper=$(first_build stage5 stage4 stage3 stage2 reference stage7 stage6) ;;
        esac
        [ -n "$stopper" ] || continue
        BOCKER_ROOT=$root "$stopper" stop -t 0 "$(basename "$(dirname "$record")")" \
            >/dev/null 2>&1 || true
    done
    stopper=$(first_build reference stage7 stage6)
    for file in /tmp/*/btrfs.img; do
        [ -f "$file" ] && [ -n "$stopper" ] || continue
        BOCKER_ROOT=${file%/btrfs.img} "$stopper" system reset --force >/dev/null 2>&1 || true
    done
}

# ------------------------------------------------------------------ the run

# The stand-in host: lo, and a network card eth0 (one end of a veth pair),
# with an address from a range set aside for documentation. What the
# sessions make (chapter 5's bridge and NAT rules) stays in it.
ip link set lo up
ip link add eth0 type veth peer name eth1
ip addr add 192.0.2.1/24 dev eth0
ip link set eth0 up
ip link set eth1 up

trap 'stop_registry; stop_everything' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# shellcheck source=/dev/null
source "chapters/$chapter/transcripts/session.sh"

exec 3>&-
# curl prints HTTP headers with CRLF line ends; a terminal shows none.
sed -i 's/\r$//' "$outdir"/*.txt
