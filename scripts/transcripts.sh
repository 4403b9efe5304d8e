#!/usr/bin/env bash
# The book's transcripts: the commands the pages show, run for real, with
# their real output.
#   sudo scripts/transcripts.sh           (re)write chapters/*/transcripts/*.txt
#   sudo scripts/transcripts.sh --check   make them again in a temporary folder
#                                         and compare with the committed ones
#
# A page includes a transcript inside its ```text fence:
#     {{#include transcripts/NAME.txt}}
#
# How it works:
#   1. It builds the variants of bocker that the pages use, in a target
#      folder of its own (target/transcripts, so target/debug is left alone),
#      and runs the test suites that pages show, keeping their stable lines.
#   2. It runs the pages' sessions, below, as a student types them in the
#      root shell of chapter 0: `bocker` is the build the page talks about,
#      the paths are the pages' paths (/tmp/busybox, /tmp/book-demo, ...).
#      The sessions run in a private mount namespace, where a scratch folder
#      on disk is mounted over /tmp: the machine's own /tmp is not touched,
#      and every mount made there disappears with the namespace. (Chapter 6's
#      btrfs files are mounted there too, each on a loop device that frees
#      itself when its filesystem is unmounted; the sessions end with
#      `bocker system reset --force`, and if they stop early, a trap in the
#      namespace stops their containers and resets them.)
#   3. --check compares after normalising what changes from run to run: image
#      and container ids, host pids and thread ids, namespace inode numbers,
#      file dates, timings, random MAC addresses, veth names and container
#      addresses (both made from container ids), ping's round-trip times,
#      the number of processes and mounts on the host, the number of cgroups
#      in each hierarchy, what `bocker stats` measures (CPU %, CPU time,
#      memory in use and its peak; not the limits, nor the number of
#      processes), btrfs's subvolume ids, generations, creation times and
#      UUIDs (each UUID numbered in its file's order of appearance, so that
#      "the same UUID" still shows), loop device numbers, the blocks a
#      sparse file takes (du), the length of the btrfs file (ls: at most the
#      disk's free space), and the width of the spaces between columns.
#      In chapter 7's transcripts also: sha256 digests, whole or short
#      (numbered in order of appearance, as the UUIDs), HTTP dates, sizes of
#      blobs and manifests, and the times in image configs and records; the
#      output of commands whose lines come in the order parallel work
#      finished (skopeo copy, bocker pull, the registry's log, a listing of
#      the blob store) is compared sorted, its digests not numbered.
#      In chapter 8's: the inode and generation numbers of a scratch file.
#      Anything else that differs is printed as a diff, and it exits 1.
#
# Everything it starts (containers, and chapter 7's registry, included) is
# stopped, and the scratch folder removed, when it ends, also on error or
# Ctrl-C.
set -euo pipefail

self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$self" "$@"
fi

usage() {
    echo "usage: $0 [--check]" >&2
    exit 2
}

say() { echo "transcripts: $*" >&2; }

# ------------------------------------------------------------------ sessions
# These functions run inside the private mount namespace (--in-namespace).

declare -A opened=()
shown_vars=()
current=""

# out CHAPTER/NAME: the commands that follow go to
# chapters/CHAPTER/transcripts/NAME.txt (appended if already written to).
out() {
    local file=$outroot/chapters/${1%%/*}/transcripts/${1#*/}.txt
    mkdir -p "${file%/*}"
    if [ -n "${opened[$file]:-}" ]; then
        exec 3>>"$file"
    else
        exec 3>"$file"
        opened[$file]=1
    fi
    current=$file
}

# use BUILD: which build of bocker the `bocker` command is from now on.
use() { bocker_bin=$bins/$1; }

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

# The last id with this prefix in the current transcript.
last_id() { grep -o "${1}_[0-9a-f]\{12\}" "$current" | tail -n 1; }

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
    echo "transcripts: process $pid never installed its SIGTERM handler" >&2
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
    echo "transcripts: container $name never printed $line" >&2
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
    echo "transcripts: container $id never exited" >&2
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
    echo "transcripts: process $pid never listened on port $2" >&2
    return 1
}

# Wait (silently) a moment: the kernel updates a link's state (UP, DOWN,
# NO-CARRIER) a little after the change that causes it, in the background.
# A student typing the next command sees the settled state.
settle() { sleep 1.5; }

# Stop the running containers of every state folder under /tmp that has a
# btrfs file, then `system reset --force` it: the btrfs is unmounted, its
# loop device frees itself (LO_FLAGS_AUTOCLEAR), the file is deleted.
# Quietly, and never failing: it runs on the way out. (Whatever it cannot
# reset is unmounted anyway when the namespace's last process ends.)
reset_btrfs_roots() {
    local file root record
    exec 3>&-
    for file in /tmp/*/btrfs.img; do
        [ -f "$file" ] || continue
        root=${file%/btrfs.img}
        for record in "$root"/btrfs/containers/ps_*/container.json; do
            [ -f "$record" ] || continue
            grep -q '"status": "running"' "$record" || continue
            BOCKER_ROOT=$root "$bins/reference" stop -t 0 "$(basename "$(dirname "$record")")" \
                >/dev/null 2>&1 || true
        done
        BOCKER_ROOT=$root "$bins/reference" system reset --force >/dev/null 2>&1 || true
    done
}

# Chapter 7's registry (a `docker-registry serve`, started in the background
# by a session): stopped, quietly, if it still runs. The sessions stop it
# themselves (`kill %1`); this is for the way out after an error.
registry_pid=""
stop_registry() {
    if [ -n "$registry_pid" ]; then
        kill -TERM "$registry_pid" 2>/dev/null || true
        wait "$registry_pid" 2>/dev/null || true
        registry_pid=""
    fi
}

# The sessions, in the order a student meets them. One root shell goes
# through every chapter, as the pages describe.
sessions() {
    export BOCKER_ROOT=/tmp/book-demo   # chapter 0: `export BOCKER_ROOT=/tmp/book-demo`
    # Chapters 0 to 4 show no network: the finished runtime's bridge (chapter
    # 5) would add a link to their listings, in a state that changes from
    # run to run. Chapter 5's sessions turn it back on.
    export BOCKER_BRIDGE=none
    # Chapters 0 to 5 keep plain copies (chapter 0: `export
    # BOCKER_STORAGE=copy`): the finished runtime would otherwise put
    # /tmp/book-demo on btrfs, where the builds of chapters 1 to 5 cannot
    # find its images. Chapter 6's sessions turn it back on.
    export BOCKER_STORAGE=copy

    # ================================================= chapter 0: the tour
    out 00-setup/busybox-rootfs
    cmds <<'EOF'
scripts/make-busybox-rootfs.sh /tmp/busybox
ls -1 /tmp/busybox
ls -l /tmp/busybox/bin/sh
EOF
    use reference
    out 00-setup/init
    cmds <<'EOF'
bocker init /tmp/busybox
bocker images
EOF
    var IMG="$(last_id img)"
    out 00-setup/run
    cmds <<'EOF'
bocker run $IMG echo hello
bocker run $IMG 'cat /etc/os-release; cat /etc/hostname'
EOF
    var HELLO="$(grep -o 'ps_[0-9a-f]\{12\}' <(bocker ps) | head -n 1)"
    out 00-setup/exit-codes
    cmds <<'EOF'
bocker run --name sad $IMG 'echo to stdout; echo to stderr >&2; exit 3'; echo "exit code: $?"
bocker run $IMG no-such-program; echo "exit code: $?"
EOF
    out 00-setup/ps-logs
    cmds <<'EOF'
bocker ps
bocker logs $HELLO
bocker logs sad
bocker logs sad 2>/dev/null
EOF
    out 00-setup/rm
    cmds <<'EOF'
bocker rm $HELLO sad
bocker ps
EOF

    # ==================================================== chapter 1: chroot
    use stage0
    out 01-chroot/stage0
    cmds <<'EOF'
bocker run $IMG cat /etc/os-release
bocker run $IMG pwd
bocker run $IMG cat etc/os-release
EOF
    use stage1
    out 01-chroot/still-shared
    cmds <<'EOF'
hostname
bocker run $IMG hostname
bocker run $IMG 'ip -o link | cut -d" " -f2'
bocker run $IMG 'ls /proc; ps'
bocker run $IMG id
EOF
    use stage0
    out 01-chroot/stage0-env
    cmds <<'EOF'
SECRET=hunter2 bocker run $IMG 'echo $SECRET'
EOF
    use stage1
    out 01-chroot/stage1
    cmds <<'EOF'
bocker run $IMG cat /etc/os-release
bocker run $IMG pwd
SECRET=hunter2 bocker run $IMG 'echo $SECRET'
SECRET=hunter2 bocker run -e GREETING=hello $IMG env
bocker run $IMG ls /tmp/book-demo
EOF
    out 01-chroot/stdin
    cmds <<'EOF'
echo 'typed on the host' | bocker run -i $IMG cat
echo 'typed on the host' | bocker run $IMG cat; echo "exit code: $?"
EOF
    # /tmp/escape: `rustc … -o /tmp/escape`, built before the session.
    out 01-chroot/escape-image
    cmds <<'EOF'
cp /tmp/escape /tmp/busybox/bin/escape
echo "a file on the host, outside every image" > /tmp/marker
bocker init /tmp/busybox
EOF
    var ESC="$(last_id img)"
    out 01-chroot/escape-stage1
    cmds <<'EOF'
bocker run $ESC cat /tmp/marker
bocker run $ESC /bin/escape /tmp/marker
EOF
    use reference
    out 01-chroot/escape-reference
    cmds <<'EOF'
bocker run $ESC /bin/escape /tmp/marker
EOF

    # ================================================ chapter 2: namespaces
    use stage1
    out 02-namespaces/stage1
    cmds <<'EOF'
hostname
bocker run $IMG hostname
bocker run $IMG 'echo $$'
EOF
    out 02-namespaces/own-namespaces
    cmds <<'EOF'
ls -l /proc/self/ns
EOF
    use stage2
    out 02-namespaces/hostnames
    cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch2
scripts/make-busybox-rootfs.sh /tmp/bb2
bocker init /tmp/bb2
EOF
    var IMG2="$(last_id img)"
    cmds <<'EOF'
bocker run $IMG2 'echo $$'
bocker run --hostname box $IMG2 hostname
hostname
bocker run $IMG2 hostname
EOF
    out 02-namespaces/ip-link
    cmds <<'EOF'
bocker run $IMG2 ip link
bocker run --net host $IMG2 ip link
EOF
    out 02-namespaces/empty-proc
    cmds <<'EOF'
bocker run $IMG2 ls -la /proc
bocker run $IMG2 ps
EOF
    out 02-namespaces/detach
    cmds <<'EOF'
bocker run -d --name sleeper $IMG2 sleep 1000
bocker ps
EOF
    var SLEEPER="$(last_id ps)"
    var PID="$(running_pid "$SLEEPER")"
    var MONITOR="$(ps -o ppid= -p "$PID" | tr -d ' ')"
    out 02-namespaces/from-the-host
    cmds <<'EOF'
grep '^  "pid"' /tmp/book-ch2/containers/$SLEEPER/container.json
ls -l /proc/$PID/ns
lsns -p $PID
ps -o pid,ppid,sid,args -p $MONITOR,$PID
EOF
    out 02-namespaces/exec
    cmds <<'EOF'
bocker exec sleeper sh -c 'echo $$; hostname'
bocker exec sleeper no-such-program; echo "exit code: $?"
EOF
    out 02-namespaces/signals
    cmds <<'EOF'
bocker exec sleeper kill -TERM 1
bocker exec sleeper kill -KILL 1
kill -TERM $PID
bocker ps
EOF
    out 02-namespaces/stop
    cmds <<'EOF'
time bocker stop -t 1 sleeper
bocker ps
bocker exec sleeper true; echo "exit code: $?"
bocker exec nobody true; echo "exit code: $?"
EOF
    out 02-namespaces/stop-polite
    cmds <<'EOF'
bocker run -d --name polite $IMG2 'trap "echo bye; exit 0" TERM; while true; do sleep 1; done'
EOF
    wait_for_term_handler "$(running_pid "$(last_id ps)")"
    cmds <<'EOF'
time bocker stop polite
bocker logs polite
EOF
    out 02-namespaces/init
    cmds <<'EOF'
bocker run -d --init --name tiny $IMG2 sleep 1000
EOF
    var TINY="$(running_pid "$(last_id ps)")"
    cmds <<'EOF'
tr '\0' ' ' < /proc/$TINY/cmdline; echo
bocker exec tiny sh -c 'echo "I am pid $$"'
time bocker stop tiny
bocker ps
EOF
    # The first todo!() of chapter 2, as the untouched exercise reports it.
    use stage2-todo
    out 02-namespaces/todo
    BOCKER_ROOT=/tmp/scratch bocker init /tmp/bb2 >/dev/null
    { BOCKER_ROOT=/tmp/scratch bocker run "$(BOCKER_ROOT=/tmp/scratch bocker images | awk 'NR == 2 {print $1}')" true 2>&1 || true; } \
        | grep '^bocker: unfinished exercise' >&3

    # =========================================== chapter 3: mounts and /proc
    # The image with the escape program comes first: "Where we start" uses it.
    use stage3
    out 03-mounts/escape-again
    cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch3
scripts/make-busybox-rootfs.sh /tmp/bb3
cp /tmp/escape /tmp/bb3/bin/escape
bocker init /tmp/bb3
EOF
    var IMG3="$(last_id img)"
    cmds <<'EOF'
echo 'a file on the host' > /tmp/marker
EOF
    use stage2
    out 03-mounts/stage2
    cmds <<'EOF'
bocker run $IMG3 /bin/escape /tmp/marker
bocker run $IMG3 ps
bocker run $IMG3 ls -la /dev
bocker run $IMG3 'echo secret > /dev/null; cat /dev/null; ls -l /dev/null'
bocker run $IMG3 head -c 4 /dev/urandom
EOF
    out 03-mounts/propagation-of-root
    cmds <<'EOF'
findmnt -o TARGET,PROPAGATION /
EOF
    out 03-mounts/shared-demo
    cmds <<'EOF'
mkdir /tmp/demo && mount -t tmpfs demo /tmp/demo && mount --make-shared /tmp/demo
findmnt -o TARGET,PROPAGATION /tmp/demo
EOF
    out 03-mounts/leak
    cmds <<'EOF'
unshare --mount --propagation unchanged sh -c 'mkdir /tmp/demo/a && mount -t tmpfs a /tmp/demo/a'
findmnt -o TARGET,PROPAGATION -R /tmp/demo
unshare --mount --propagation private sh -c 'mkdir /tmp/demo/b && mount -t tmpfs b /tmp/demo/b'
findmnt -o TARGET,PROPAGATION -R /tmp/demo
umount -R /tmp/demo && rmdir /tmp/demo
EOF
    use stage3
    out 03-mounts/escape-again
    cmds <<'EOF'
bocker run $IMG3 /bin/escape /tmp/marker
EOF
    out 03-mounts/proc
    cmds <<'EOF'
bocker run $IMG3 ps
bocker run $IMG3 '/bin/true; cat /proc/self/stat | cut -d" " -f1-4'
EOF
    out 03-mounts/mounts
    cmds <<'EOF'
bocker run $IMG3 cat /proc/mounts
EOF
    out 03-mounts/sys
    cmds <<'EOF'
bocker run $IMG3 'mkdir /sys/x'
bocker run $IMG3 ls /sys/class/net
bocker run --net host $IMG3 ls /sys/class/net
EOF
    out 03-mounts/dev
    cmds <<'EOF'
bocker run $IMG3 ls -l /dev
bocker run $IMG3 'echo secret > /dev/null; cat /dev/null; head -c 4 /dev/urandom | wc -c'
bocker run $IMG3 'ls -ld /tmp; touch /tmp/x; ls /tmp'
EOF
    out 03-mounts/exec
    cmds <<'EOF'
bocker run -d --name box $IMG3 sleep 1000
bocker exec box ps
bocker exec box cat /proc/mounts | wc -l
EOF
    out 03-mounts/host-mounts
    cmds <<'EOF'
wc -l < /proc/self/mountinfo
grep -c book-ch3 /proc/self/mountinfo
bocker stop -t 0 box
wc -l < /proc/self/mountinfo
EOF

    # ================================================== chapter 4: cgroups
    # The image comes first (the page's first "Try it" shows how it was
    # made), then "Where we start" with the stage 3 build.
    local home=$PWD # the cgroup sessions `cd`; come back afterwards
    use stage4
    out 04-cgroups/limits
    cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch4
scripts/make-busybox-rootfs.sh /tmp/bb4
bocker init /tmp/bb4
EOF
    var IMG4="$(last_id img)"
    use stage3
    out 04-cgroups/stage3
    cmds <<'EOF'
bocker run $IMG4 'x=$(head -c 100000000 /dev/zero | tr "\0" x); echo survived ${#x}'
bocker run $IMG4 'for i in $(seq 1 100); do sleep 10 & done; echo started $i'
bocker run --memory 64m $IMG4 true
EOF
    out 04-cgroups/hierarchies
    cmds <<'EOF'
stat -fc '%n %T' /sys/fs/cgroup /sys/fs/cgroup/memory /sys/fs/cgroup/unified
findmnt -R -o TARGET,FSTYPE,OPTIONS /sys/fs/cgroup
cat /proc/cgroups
cat /sys/fs/cgroup/unified/cgroup.controllers
EOF
    # A cgroup made by hand (and none left over from an interrupted run).
    rmdir /sys/fs/cgroup/pids/demo 2>/dev/null || true
    out 04-cgroups/by-hand
    cmds <<'EOF'
mkdir /sys/fs/cgroup/pids/demo
ls /sys/fs/cgroup/pids/demo
cat /sys/fs/cgroup/pids/demo/pids.max
echo 1 > /sys/fs/cgroup/pids/demo/pids.max
sh -c 'echo $$ > /sys/fs/cgroup/pids/demo/cgroup.procs; echo inside; /bin/echo from a child; echo done'
cat /sys/fs/cgroup/pids/demo/pids.events
rmdir /sys/fs/cgroup/pids/demo
EOF
    # The first todo!() of chapter 4, as the untouched exercise reports it.
    use stage4-todo
    out 04-cgroups/todo
    BOCKER_ROOT=/tmp/scratch4 bocker init /tmp/bb4 >/dev/null
    { BOCKER_ROOT=/tmp/scratch4 bocker run "$(BOCKER_ROOT=/tmp/scratch4 bocker images | awk 'NR == 2 {print $1}')" true 2>&1 || true; } \
        | grep '^bocker: unfinished exercise' >&3

    # The "Try it" sections, in the page's order.
    use stage4
    out 04-cgroups/limits
    cmds <<'EOF'
bocker run -d --name limited --memory 64m --cpus 0.5 --cpu-shares 512 --pids-limit 10 $IMG4 sleep 1000
EOF
    var LIM="$(last_id ps)"
    cmds <<'EOF'
ls -d /sys/fs/cgroup/*/bocker/$LIM
cd /sys/fs/cgroup/memory/bocker/$LIM
grep . memory.limit_in_bytes memory.memsw.limit_in_bytes
cd /sys/fs/cgroup/cpu/bocker/$LIM
grep . cpu.cfs_period_us cpu.cfs_quota_us cpu.shares
cd /sys/fs/cgroup/pids/bocker/$LIM
ls
grep . pids.max pids.current
cat cgroup.procs
grep '^  "pid"' /tmp/book-ch4/containers/$LIM/container.json
EOF
    cd "$home"
    out 04-cgroups/inside
    cmds <<'EOF'
bocker run $IMG4 cat /proc/self/cgroup
bocker exec limited cat /proc/self/cgroup
EOF
    out 04-cgroups/variables
    cmds <<'EOF'
BOCKER_MEM_LIMIT=100 BOCKER_CPU_SHARE=256 bocker run -d --name old-style $IMG4 sleep 1000
EOF
    var OLD="$(last_id ps)"
    cmds <<'EOF'
cat /sys/fs/cgroup/memory/bocker/$OLD/memory.limit_in_bytes /sys/fs/cgroup/cpu/bocker/$OLD/cpu.shares
bocker stop -t 0 old-style
EOF
    out 04-cgroups/pids
    cmds <<'EOF'
bocker run --pids-limit 10 $IMG4 'for i in $(seq 1 12); do sleep 100 & echo started $i; done'
EOF
    # The shell adds 10 MB to its variable every 2 seconds; each `stats`
    # comes while it sleeps, as a student reading `bocker stats` would see.
    out 04-cgroups/memory
    cmds <<'EOF'
bocker run -d --name grower --memory 64m $IMG4 'x=; while :; do x=$x$(head -c 10000000 /dev/zero | tr "\0" x); echo ${#x}; sleep 2; done'
EOF
    var GROWER="$(last_id ps)"
    for size in 10000000 20000000 30000000; do
        wait_for_line grower "$size"
        cmds <<<'bocker stats --no-stream grower'
    done
    wait_for_exit "$GROWER"
    cmds <<'EOF'
bocker logs grower
bocker ps
dmesg | grep -o 'Memory cgroup out of memory: Killed process [0-9]* ([a-z]*)' | tail -n 1
EOF
    out 04-cgroups/cpu
    cmds <<'EOF'
bocker run -d --name busy --cpus 0.5 $IMG4 'while :; do :; done & while :; do :; done'
EOF
    var BUSY="$(last_id ps)"
    cmds <<'EOF'
bocker stats --no-stream
bocker update --cpus 1.5 busy
cat /sys/fs/cgroup/cpu/bocker/$BUSY/cpu.cfs_quota_us
bocker stats --no-stream busy
bocker update --memory 128m --pids-limit 20 limited
cat /sys/fs/cgroup/pids/bocker/$LIM/pids.max
bocker stats --no-stream limited
EOF
    var BUSYPID="$(running_pid "$BUSY")"
    out 04-cgroups/pause
    cmds <<'EOF'
grep State /proc/$BUSYPID/status
bocker pause busy
bocker ps
cat /sys/fs/cgroup/freezer/bocker/$BUSY/freezer.state
grep State /proc/$BUSYPID/status
bocker stats --no-stream busy
bocker exec busy true; echo "exit code: $?"
bocker unpause busy
grep State /proc/$BUSYPID/status
bocker stop -t 0 busy limited
EOF

    # ================================================== chapter 5: network
    # Chapters 0 to 4 turned bridge networking off (BOCKER_BRIDGE=none, at
    # the top). A student's shell has no such variable: from here on,
    # containers get the default bridge, bocker0, made in the network
    # namespace these sessions run in (the stand-in host, see below).
    unset BOCKER_BRIDGE
    # The image comes first (the page's first "Try it" shows how it was
    # made), then "Where we start" with the stage 4 build.
    use stage5
    out 05-network/bridge
    cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch5
scripts/make-busybox-rootfs.sh /tmp/bb5
bocker init /tmp/bb5
EOF
    var IMG5="$(last_id img)"
    use stage4
    out 05-network/stage4
    cmds <<'EOF'
ip -4 addr
bocker run $IMG5 ip addr
bocker run $IMG5 ping -c 1 127.0.0.1
bocker run $IMG5 ping -c 1 192.0.2.1
bocker run --net bridge $IMG5 true
EOF
    # The first todo!() of chapter 5, as the untouched exercise reports it.
    use stage5-todo
    out 05-network/todo
    BOCKER_ROOT=/tmp/scratch5 bocker init /tmp/bb5 >/dev/null
    { BOCKER_ROOT=/tmp/scratch5 bocker run "$(BOCKER_ROOT=/tmp/scratch5 bocker images | awk 'NR == 2 {print $1}')" true 2>&1 || true; } \
        | grep '^bocker: unfinished exercise' >&3

    # The "Try it" sections, in the page's order.
    use stage5
    out 05-network/bridge
    cmds <<'EOF'
bocker run $IMG5 ip -4 addr
bocker run $IMG5 ip route
bocker run $IMG5 ping -c 2 172.30.0.1
bocker run $IMG5 ping -c 1 192.0.2.1
EOF
    out 05-network/from-the-host
    cmds <<'EOF'
bocker run -d --name one $IMG5 sleep 1000
EOF
    settle
    cmds <<'EOF'
ip link
bridge link
ip -4 addr show bocker0
ip route
ls /tmp/book-ch5/network/bridges/bocker0/leases
cat /tmp/book-ch5/network/bridges/bocker0/leases/*; echo
EOF
    out 05-network/two
    cmds <<'EOF'
bocker exec one hostname -i
EOF
    var ONEIP="$(bocker exec one hostname -i)"
    cmds <<'EOF'
bocker run $IMG5 ping -c 2 $ONEIP
EOF
    out 05-network/modes
    cmds <<'EOF'
bocker run --net none $IMG5 ip addr
bocker run --net none $IMG5 ping -c 1 127.0.0.1
bocker run --net host $IMG5 ip -4 addr
bocker run --net container:one $IMG5 ip -4 addr
bocker run --net container:one $IMG5 hostname
EOF
    out 05-network/subnet
    cmds <<'EOF'
ip route add 172.30.5.0/24 dev eth0
bocker run $IMG5 true; echo "exit code: $?"
ip route del 172.30.5.0/24 dev eth0
EOF
    out 05-network/ports
    cmds <<'EOF'
bocker run -d --name web -p 8080:80 $IMG5 'nc -l -p 80 -e echo hello from web'
EOF
    var WEB="$(last_id ps)"
    wait_for_listener "$(running_pid "$WEB")" 80
    cmds <<'EOF'
bocker ps
bocker port web
iptables -t nat -S
iptables -S FORWARD
busybox nc 192.0.2.1 8080
EOF
    wait_for_exit "$WEB"
    out 05-network/localhost
    cmds <<'EOF'
bocker run -d --name web2 -p 8081:80 $IMG5 'nc -l -p 80 -e echo hello from web2'
EOF
    var WEB2="$(last_id ps)"
    wait_for_listener "$(running_pid "$WEB2")" 80
    cmds <<'EOF'
timeout 3 busybox nc 127.0.0.1 8081; echo "exit code: $?"
busybox nc 192.0.2.1 8081
EOF
    wait_for_exit "$WEB2"
    out 05-network/etc
    cmds <<'EOF'
cat /etc/resolv.conf
bocker run --hostname box $IMG5 'cat /etc/hosts; cat /etc/hostname; cat /etc/resolv.conf'
bocker run --net none --hostname alone $IMG5 cat /etc/hosts
EOF
    out 05-network/after
    cmds <<'EOF'
bocker stop -t 0 one
bocker ps
EOF
    settle
    cmds <<'EOF'
ip -o link | cut -d' ' -f2
ip link show master bocker0
iptables -t nat -S
iptables -S
ls -A /tmp/book-ch5/network/bridges/bocker0/leases
EOF

    # ==================================================== chapter 6: btrfs
    # "Where we start": the stage 5 build, with a state folder of its own
    # (/tmp/copies): the chapter's own, /tmp/book-ch6, must start empty, or
    # chapter 6's bocker would keep making copies in it.
    use stage5
    out 06-btrfs/stage5
    cmds <<'EOF'
export BOCKER_ROOT=/tmp/copies
scripts/make-busybox-rootfs.sh /tmp/bb6
cp -a /tmp/bb6 /tmp/big6
head -c 200M /dev/urandom > /tmp/big6/root/data
mkdir /tmp/big6/root/many
seq -f /tmp/big6/root/many/f%.0f 20000 | xargs touch
bocker init /tmp/big6
EOF
    var BIGC="$(last_id img)"
    sync
    cmds <<'EOF'
time bocker run $BIGC true
time bocker run $BIGC true
du -sh /tmp/copies/images/* /tmp/copies/containers/*
bocker commit
EOF

    # A btrfs by hand, as Bocker's Vagrantfile made one (one loop device,
    # freed by the umount at the end).
    out 06-btrfs/by-hand
    cmds <<'EOF'
truncate -s 1G /tmp/play.img
mkfs.btrfs -q /tmp/play.img
mkdir /tmp/play
mount /tmp/play.img /tmp/play
losetup -l -O NAME,AUTOCLEAR,BACK-FILE -j /tmp/play.img
btrfs subvolume create /tmp/play/base
head -c 100M /dev/urandom > /tmp/play/base/data
echo hello > /tmp/play/base/note
btrfs subvolume snapshot /tmp/play/base /tmp/play/snap
stat -c '%i %n' /tmp/play /tmp/play/base /tmp/play/snap /tmp/play/base/note /tmp/play/snap/note
sync; btrfs filesystem du -s /tmp/play/base /tmp/play/snap
EOF
    out 06-btrfs/cow
    cmds <<'EOF'
echo changed > /tmp/play/snap/note
dd if=/dev/urandom of=/tmp/play/snap/data bs=1M seek=50 count=1 conv=notrunc status=none
cat /tmp/play/base/note /tmp/play/snap/note
sync; btrfs filesystem du -s /tmp/play/base /tmp/play/snap
btrfs subvolume list /tmp/play
EOF
    out 06-btrfs/strace
    cmds <<'EOF'
strace -qq -e trace=ioctl btrfs subvolume create /tmp/play/empty
strace -qq -e trace=ioctl btrfs subvolume snapshot -r /tmp/play/base /tmp/play/frozen
touch /tmp/play/frozen/x
strace -qq -e trace=ioctl btrfs subvolume delete /tmp/play/frozen 2>&1 | grep -v -e TREE_SEARCH -e INO_LOOKUP
stat -f -c '%t %T' /tmp/play/base
EOF
    out 06-btrfs/play-end
    cmds <<'EOF'
umount /tmp/play
losetup -l -j /tmp/play.img
rm -r /tmp/play /tmp/play.img
EOF

    # The first todo!() of chapter 6, as the untouched exercise reports it:
    # `init` makes the btrfs file, then calls create_subvolume. The file is
    # reset at once (one loop device at a time).
    use stage6-todo
    out 06-btrfs/todo
    { BOCKER_STORAGE=btrfs BOCKER_ROOT=/tmp/scratch6 bocker init /tmp/bb6 2>&1 || true; } \
        | grep '^bocker: unfinished exercise' >&3
    BOCKER_ROOT=/tmp/scratch6 bocker system reset --force >/dev/null

    # The "Try it" sections, in the page's order. A student's shell has no
    # BOCKER_STORAGE (or unsets the one of chapter 0).
    use stage6
    out 06-btrfs/loop
    cmds <<'EOF'
unset BOCKER_STORAGE
export BOCKER_ROOT=/tmp/book-ch6
bocker init /tmp/bb6
EOF
    var IMG6="$(last_id img)"
    cmds <<'EOF'
bocker init /tmp/big6
EOF
    var BIG6="$(last_id img)"
    cmds <<'EOF'
ls -lh /tmp/book-ch6
du -h /tmp/book-ch6/btrfs.img
findmnt /tmp/book-ch6/btrfs
losetup -l -O NAME,AUTOCLEAR,BACK-FILE -j /tmp/book-ch6/btrfs.img
btrfs subvolume list /tmp/book-ch6/btrfs
EOF
    out 06-btrfs/container
    cmds <<'EOF'
bocker run -d --name box $IMG6 sleep 1000
EOF
    var BOX="$(last_id ps)"
    cmds <<'EOF'
btrfs subvolume list /tmp/book-ch6/btrfs
btrfs subvolume show /tmp/book-ch6/btrfs/images/$IMG6/rootfs
btrfs subvolume show /tmp/book-ch6/btrfs/containers/$BOX/rootfs
touch /tmp/book-ch6/btrfs/images/$IMG6/rootfs/root/x
EOF
    # strace starts a program by its path, and `bocker` is the student's
    # alias for target/debug/bocker in the repository: here, a folder
    # whose target/debug/bocker is this build.
    mkdir -p "$work/repo6/target/debug"
    ln -sf "$bocker_bin" "$work/repo6/target/debug/bocker"
    cd "$work/repo6"
    cmds <<'EOF'
strace -f -qq -e trace=ioctl target/debug/bocker run --rm $IMG6 true 2>&1 | grep BTRFS
EOF
    cd "$home"
    out 06-btrfs/writes
    cmds <<'EOF'
bocker exec box sh -c 'echo hello > /root/note; echo "eve:x:1000:1000::/home/eve:/bin/sh" >> /etc/passwd; rm /etc/group'
ls /tmp/book-ch6/btrfs/containers/$BOX/rootfs/root /tmp/book-ch6/btrfs/images/$IMG6/rootfs/root
bocker run $IMG6 'ls /root; tail -n 1 /etc/passwd; ls /etc/group'
bocker diff box
bocker run --name fresh $IMG6 true
bocker diff fresh
EOF
    out 06-btrfs/commit
    cmds <<'EOF'
bocker run $IMG6 which greet; echo "exit code: $?"
bocker run --name installer $IMG6 'mkdir -p /usr/local/bin && printf "#!/bin/sh\necho hello from greet\n" > /usr/local/bin/greet && chmod +x /usr/local/bin/greet'
bocker diff installer
bocker commit installer $IMG6
bocker run $IMG6 'which greet && greet'
btrfs subvolume show /tmp/book-ch6/btrfs/images/$IMG6/rootfs | grep -e UUID -e Flags
btrfs subvolume show /tmp/book-ch6/btrfs/containers/$(cat /tmp/book-ch6/names/installer)/rootfs | grep -e UUID -e Flags
bocker commit box
EOF
    var NEW6="$(last_id img)"
    cmds <<'EOF'
bocker images
bocker run $NEW6 'cat /root/note; ls /etc/group'
EOF
    sync
    out 06-btrfs/measure
    cmds <<'EOF'
time cp -a --reflink=never /tmp/book-ch6/btrfs/images/$BIG6/rootfs /tmp/book-ch6/btrfs/copy
time btrfs subvolume snapshot /tmp/book-ch6/btrfs/images/$BIG6/rootfs /tmp/book-ch6/btrfs/snap
sync; btrfs filesystem du -s /tmp/book-ch6/btrfs/images/$BIG6/rootfs /tmp/book-ch6/btrfs/copy /tmp/book-ch6/btrfs/snap
rm -r /tmp/book-ch6/btrfs/copy; btrfs subvolume delete /tmp/book-ch6/btrfs/snap
EOF
    sync
    cmds <<'EOF'
time bocker run --name snapped $BIG6 true
time BOCKER_STORAGE=copy bocker run --name copied $BIG6 true
EOF
    var SNAPPED="$(cat /tmp/book-ch6/names/snapped)"
    var COPIED="$(cat /tmp/book-ch6/names/copied)"
    cmds <<'EOF'
sync; btrfs filesystem du -s /tmp/book-ch6/btrfs/containers/$SNAPPED/rootfs /tmp/book-ch6/btrfs/containers/$COPIED/rootfs
EOF
    out 06-btrfs/reset
    cmds <<'EOF'
bocker system reset
bocker system reset --force
bocker stop -t 0 box
bocker system reset --force
losetup -l -j /tmp/book-ch6/btrfs.img
ls -A /tmp/book-ch6
EOF
    # After the reset: while /tmp/book-ch6 had containers on the bridge,
    # another state folder could not use it (chapter 5).
    out 06-btrfs/old
    cmds <<'EOF'
BOCKER_ROOT=/tmp/copies bocker run --name old $BIGC 'echo x > /root/x'
BOCKER_ROOT=/tmp/copies bocker diff old
BOCKER_ROOT=/tmp/copies bocker system reset --force
rm -r /tmp/copies
EOF

    # ================================================= chapter 7: registry
    # "Where we start": the stage 6 build has no `pull`.
    use stage6
    out 07-registry/stage6
    cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch7
bocker pull busybox latest
EOF
    # An image of our own, made with umoci from the busybox files: a layer
    # of busybox, a layer that adds /bin/hello and deletes /etc/os-release
    # (a whiteout), and a config (Entrypoint, Cmd, Env, WorkingDir, User).
    out 07-registry/image
    cmds <<'EOF'
scripts/make-busybox-rootfs.sh /tmp/bb7
umoci init --layout /tmp/oci
umoci new --image /tmp/oci:hello
umoci unpack --image /tmp/oci:hello /tmp/bundle
cp -a /tmp/bb7/. /tmp/bundle/rootfs/
umoci repack --refresh-bundle --image /tmp/oci:hello /tmp/bundle
rm /tmp/bundle/rootfs/etc/os-release
printf '#!/bin/sh\necho "$GREETING, $*! I am $(id -un), in $(pwd)."\n' > /tmp/bundle/rootfs/bin/hello
chmod +x /tmp/bundle/rootfs/bin/hello
umoci repack --image /tmp/oci:hello /tmp/bundle
umoci config --image /tmp/oci:hello --config.entrypoint /bin/hello --config.cmd world --config.env GREETING=Hello --config.workingdir /tmp --config.user nobody
ls /tmp/oci
jq . /tmp/oci/index.json
EOF
    # A registry of our own: its configuration file, which the page shows
    # and a student writes with an editor. It listens on 127.0.0.1:5007 in
    # these sessions' network namespace, where nothing else listens, so the
    # port is free (on a student's machine, Debian's own registry service
    # may hold port 5000). Its storage is in the scratch /tmp, removed at
    # the end whatever happens; the process is stopped by the session's
    # `kill %1`, or by the trap (stop_registry) after an error.
    mkdir -p /tmp/registry
    cat >/tmp/registry/config.yml <<'EOF'
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: /tmp/registry/storage
http:
  addr: 127.0.0.1:5007
EOF
    out 07-registry/registry
    cmds <<'EOF'
cat /tmp/registry/config.yml
docker-registry serve /tmp/registry/config.yml >/tmp/registry/log 2>&1 &
EOF
    registry_pid=$!
    # On a busy machine the registry can take seconds to start (once more
    # than twenty): wait up to a minute, quietly but for the last try.
    wait_for_listener $$ 5007 2>/dev/null || wait_for_listener $$ 5007 2>/dev/null \
        || wait_for_listener $$ 5007 || { cat /tmp/registry/log >&2; exit 1; }
    cmds <<'EOF'
skopeo copy oci:/tmp/oci:hello docker://localhost:5007/hello --dest-tls-verify=false
EOF
    # The protocol by hand, with curl.
    out 07-registry/http
    cmds <<'EOF'
curl -si http://localhost:5007/v2/; echo
curl -si http://localhost:5007/v2/hello/manifests/latest
curl -s -D - -o /tmp/manifest.json -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://localhost:5007/v2/hello/manifests/latest
jq . /tmp/manifest.json
sha256sum /tmp/manifest.json
EOF
    out 07-registry/blobs
    cmds <<'EOF'
CONFIG=$(jq -r .config.digest /tmp/manifest.json)
curl -s http://localhost:5007/v2/hello/blobs/$CONFIG | jq .
LAYER=$(jq -r '.layers[1].digest' /tmp/manifest.json)
curl -sI http://localhost:5007/v2/hello/blobs/$LAYER
curl -s http://localhost:5007/v2/hello/blobs/$LAYER | sha256sum
curl -s http://localhost:5007/v2/hello/blobs/$LAYER | tar -tzv
EOF
    # The first todo!() of chapter 7, as the untouched exercise reports it
    # (with copies: no btrfs file for a scratch folder).
    use stage7-todo
    out 07-registry/todo
    { BOCKER_STORAGE=copy BOCKER_ROOT=/tmp/scratch7 bocker pull localhost:5007/hello 2>&1 || true; } \
        | grep '^bocker: unfinished exercise' >&3

    # The "Try it" sections, in the page's order.
    use stage7
    out 07-registry/pull
    cmds <<'EOF'
bocker pull localhost:5007/hello
bocker images --digests
grep bocker/ /tmp/registry/log | cut -d'"' -f2
ls /tmp/book-ch7/blobs/sha256
EOF
    var IMG7="$(last_id img)"
    out 07-registry/run
    cmds <<'EOF'
bocker run localhost:5007/hello
bocker run localhost:5007/hello students
bocker run -e GREETING=Bonjour localhost:5007/hello
bocker ps
ls /tmp/book-ch7/btrfs/images/$IMG7/rootfs/etc
cat /tmp/book-ch7/btrfs/images/$IMG7/image.json
EOF
    out 07-registry/share
    cmds <<'EOF'
umoci config --image /tmp/oci:hello --tag bonjour --config.env GREETING=Bonjour
skopeo copy oci:/tmp/oci:bonjour docker://localhost:5007/hello:bonjour --dest-tls-verify=false
bocker pull localhost:5007/hello:bonjour
bocker run localhost:5007/hello:bonjour
bocker images --digests
EOF
    out 07-registry/end
    cmds <<'EOF'
bocker system reset --force
kill %1
EOF
    wait "$registry_pid" 2>/dev/null || true
    registry_pid=""
    cmds <<'EOF'
rm -r /tmp/registry /tmp/oci /tmp/bundle /tmp/bb7 /tmp/manifest.json /tmp/book-ch7
EOF

    # ===================================== chapter 8: locking the container in
    # The attack programs are built before the sessions, where the page puts
    # them (/tmp/dangerous-calls, /tmp/shocker, /tmp/whoami), and copied into
    # a busybox tree under new names (busybox's whoami is a link to busybox
    # itself: a copy onto it would overwrite busybox). The state folder keeps
    # copies: shocker's file handle only opens a file on the filesystem of
    # the container's root, and the page's "host file" is in /tmp.
    use stage7
    out 08-security/image
    cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch8
export BOCKER_STORAGE=copy
scripts/make-busybox-rootfs.sh /tmp/bb8
ls -l /tmp/bb8/usr/bin/whoami
cp /tmp/dangerous-calls /tmp/shocker /tmp/bb8/bin/
cp /tmp/whoami /tmp/bb8/bin/show-ids
chmod u+s /tmp/bb8/bin/show-ids
stat -c '%A %n' /tmp/bb8/bin/dangerous-calls /tmp/bb8/bin/shocker /tmp/bb8/bin/show-ids
bocker init /tmp/bb8
EOF
    var IMG8="$(last_id img)"
    # "Where we start": the stage 7 build, then a preview of the finished
    # runtime with the same commands.
    out 08-security/stage7
    cmds <<'EOF'
bocker run $IMG8 grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
bocker run $IMG8 dangerous-calls
bocker run --user 1000 $IMG8 show-ids
bocker run $IMG8 '{ echo box > /proc/sys/kernel/hostname; } 2>&1; hostname'
EOF
    use reference
    out 08-security/reference
    cmds <<'EOF'
bocker run $IMG8 grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
bocker run --user 1000 $IMG8 show-ids
bocker run $IMG8 '{ echo box > /proc/sys/kernel/hostname; } 2>&1; hostname'
EOF
    # The first todo!() of chapter 8, as the untouched exercise reports it.
    use stage8-todo
    out 08-security/todo
    { bocker run --rm "$IMG8" true 2>&1 || true; } | grep '^bocker: unfinished exercise' >&3

    # The "Try it" sections, in the page's order, with the finished runtime.
    use reference
    out 08-security/capabilities
    cmds <<'EOF'
cat /proc/sys/kernel/cap_last_cap
grep Cap /proc/self/status
bocker run --rm $IMG8 grep Cap /proc/self/status
bocker run --rm $IMG8 setpriv -d
bocker run --rm --user 1000 $IMG8 grep Cap /proc/self/status
bocker run --rm --cap-add NET_ADMIN --cap-drop CHOWN $IMG8 setpriv -d | grep bounding
bocker run --rm --cap-drop CHOWN $IMG8 chown 1000 /tmp
EOF
    out 08-security/net-admin
    cmds <<'EOF'
bocker run --rm --net none $IMG8 'ip link set lo down 2>&1; ip -o link show lo | cut -d" " -f2,3'
bocker run --rm --net none --cap-add NET_ADMIN $IMG8 'ip link set lo down 2>&1; ip -o link show lo | cut -d" " -f2,3'
EOF
    out 08-security/setuid
    cmds <<'EOF'
bocker run --rm $IMG8 stat -c '%A %U %n' /bin/show-ids
bocker run --rm --user 1000 $IMG8 show-ids
bocker run --rm --user 1000 --security-opt no-new-privileges=false $IMG8 show-ids
bocker run --rm --user 1000 --security-opt no-new-privileges=false $IMG8 grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status
EOF
    out 08-security/seccomp
    cmds <<'EOF'
bocker run --rm $IMG8 dangerous-calls
bocker run --rm --cap-add SYS_ADMIN $IMG8 dangerous-calls
bocker run --rm --security-opt seccomp=unconfined $IMG8 dangerous-calls
EOF
    out 08-security/masked
    cmds <<'EOF'
bocker run --rm $IMG8 'ls -l /proc/keys /proc/timer_list /proc/kcore /proc/sysrq-trigger 2>&1'
bocker run --rm $IMG8 'ls -A /sys/firmware; touch /sys/firmware/x 2>&1'
bocker run --rm $IMG8 grep -E ' /proc/(bus|fs|irq|sys|keys|timer_list) ' /proc/mounts
bocker run --rm $IMG8 '{ echo box > /proc/sys/kernel/hostname; } 2>&1; hostname'
EOF
    out 08-security/devices
    cmds <<'EOF'
bocker run -d --name box $IMG8 sleep 1000
EOF
    var BOX8="$(last_id ps)"
    cmds <<'EOF'
cat /sys/fs/cgroup/devices/bocker/$BOX8/devices.list
bocker exec box sh -c 'mknod /dev/kmsg c 1 11 && ls -l /dev/kmsg && head -c 1 /dev/kmsg 2>&1'
bocker exec box sh -c 'head -c 3 /dev/zero | wc -c'
EOF
    out 08-security/exec-init
    cmds <<'EOF'
bocker exec box grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status
bocker stop -t 0 box
bocker run --rm --init $IMG8 grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status /proc/1/status
EOF
    # The "host file" is the session's own, in its scratch /tmp: never a
    # real file of the machine.
    out 08-security/shocker
    cmds <<'EOF'
echo "the host's secret" > /tmp/host-secret
stat -c '%i %n' /tmp/host-secret
lsattr -v /tmp/host-secret
HANDLE=$(perl -e 'print unpack("H*", pack("VV", @ARGV))' $(stat -c %i /tmp/host-secret) $(lsattr -v /tmp/host-secret | cut -d' ' -f1))
bocker run --rm $IMG8 shocker 1 $HANDLE
bocker run --rm --cap-add DAC_READ_SEARCH $IMG8 shocker 1 $HANDLE
bocker run --rm --security-opt seccomp=unconfined $IMG8 shocker 1 $HANDLE
bocker run --rm --cap-add DAC_READ_SEARCH --security-opt seccomp=unconfined $IMG8 shocker 1 $HANDLE
EOF
    out 08-security/privileged
    cmds <<'EOF'
bocker run --rm --privileged $IMG8 grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status
bocker run --rm --privileged $IMG8 'ls -l /proc/keys; { echo box > /proc/sys/kernel/hostname; } 2>&1; hostname'
bocker run --rm --privileged $IMG8 'mknod /dev/kmsg c 1 11 && head -c 1 /dev/kmsg > /dev/null && echo "read the host kernel log"'
EOF
    out 08-security/end
    cmds <<'EOF'
bocker system reset --force
rm -r /tmp/book-ch8 /tmp/bb8 /tmp/host-secret
unset BOCKER_STORAGE
EOF
    exec 3>&-
    # curl prints HTTP headers with CRLF line ends; a terminal shows none.
    sed -i 's/\r$//' "$outroot"/chapters/07-registry/transcripts/*.txt
}

if [ "${1:-}" = "--in-namespace" ]; then
    # Internal: run the sessions. We are in a new mount namespace, whose
    # mounts are all private (unshare's default), so nothing below reaches
    # the host's mount table.
    work=$2
    outroot=$3
    bins=$work/bin
    mount --bind "$work/tmp" /tmp
    # A network namespace of our own too, playing the host: what the
    # sessions make (chapter 5's bridge and NAT rules) stays in it. It gets
    # lo and a link eth0 (a veth pair's end), as a machine has.
    ip link set lo up
    ip link add eth0 type veth peer name eth1
    ip addr add 192.0.2.1/24 dev eth0
    ip link set eth0 up
    ip link set eth1 up
    # However the sessions end (done, an error, or the TERM of cleanup
    # below), chapter 6's state folders are reset from in here: their
    # records are in a btrfs mounted in this namespace only, where the
    # host's cleanup cannot see them.
    # Chapter 7's registry is stopped too, if a session failed before it
    # did.
    trap 'stop_registry; reset_btrfs_roots' EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    sessions
    exit 0
fi

# --------------------------------------------------------------------- main

mode=write
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    *) usage ;;
esac
[ $# -le 1 ] || usage

for tool in cargo rustc busybox unshare findmnt lsns flock perl btrfs mkfs.btrfs losetup strace \
    docker-registry skopeo umoci curl jq \
    lsattr; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "transcripts: $tool not found" >&2
        exit 1
    fi
done

repo=$PWD
export CARGO_TARGET_DIR=$repo/target/transcripts
mkdir -p "$CARGO_TARGET_DIR"
# One run at a time: runs share target/transcripts, and each copies the
# binary it has just built.
exec 9>"$CARGO_TARGET_DIR/.lock"
if ! flock -n 9; then
    say "waiting for another scripts/transcripts.sh to finish"
    flock 9
fi

# The scratch folder is on disk, not in a tmpfs (/var/tmp, not /tmp): the
# containers' root mount shows the disk it is on (chapter 3's /proc/mounts).
work=$(mktemp -d /var/tmp/bocker-transcripts.XXXXXX)
bins=$work/bin
mkdir -p "$bins" "$work/tmp" "$work/tests" "$work/new"
chmod 1777 "$work/tmp"

# End the sessions if they still run, stop every container they left
# running (found by the records in our own state folders), then remove the
# scratch folder.
sessions_pid=""
cleanup() {
    local record root id b file stopper=""
    if [ -n "$sessions_pid" ]; then
        # The sessions are a process group of their own (setsid).
        kill -TERM -- "-$sessions_pid" 2>/dev/null || true
        wait "$sessions_pid" 2>/dev/null || true
        sleep 0.5 # let a monitor that was starting a container record it
    fi
    # stage5 or stage4 first: their stop thaws a paused container before
    # killing it.
    for b in stage5 stage4 stage3 stage2 reference; do
        if [ -x "$bins/$b" ]; then stopper=$bins/$b; break; fi
    done
    for record in "$work"/tmp/*/containers/ps_*/container.json; do
        [ -f "$record" ] || continue
        grep -q '"status": "running"' "$record" || continue
        root=${record%/containers/*}
        id=$(basename "$(dirname "$record")")
        if [ -n "$stopper" ]; then
            # This runs in the machine's own network namespace, not the
            # sessions': BOCKER_BRIDGE=none, so that whatever this bocker
            # sweeps leaves the machine's bridge and NAT rules alone.
            BOCKER_ROOT=$root BOCKER_BRIDGE=none "$stopper" stop -t 0 "$id" >/dev/null 2>&1 || true
        fi
    done
    # Chapter 6's btrfs files were reset inside the namespace (its trap).
    # One that is still here was not: its loop device frees itself once
    # nothing uses its filesystem any more.
    for file in "$work"/tmp/*/btrfs.img; do
        [ -f "$file" ] || continue
        say "warning: ${file#"$work"/} was not reset (see losetup -l)"
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export RUST_BACKTRACE=0
built=$CARGO_TARGET_DIR/debug/bocker

# build NAME [FEATURES]: cargo build, keep the binary as $bins/NAME.
build() {
    say "building ${1} (features: ${2:-none})"
    cargo build --quiet ${2:+--features "$2"} 9>&-
    cp "$built" "$bins/$1"
}

# test_run NAME FEATURES TEST EXPECT: cargo test, keep the output in
# $work/tests/NAME.out and the binary it built as $bins/NAME.
test_run() {
    say "cargo test --features $2 --test $3"
    cargo test --features "$2" --test "$3" >"$work/tests/$1.out" 2>&1 9>&- || true
    if ! grep -q "^test result: $4\." "$work/tests/$1.out"; then
        cat "$work/tests/$1.out" >&2
        echo "transcripts: expected 'test result: $4' from cargo test --features $2 --test $3" >&2
        exit 1
    fi
    cp "$built" "$bins/$1"
}

# The stable part of a passing run: the count, the tests (sorted: they run
# in parallel), and the summary without its timing.
passing() {
    local raw=$work/tests/$1.out file=$work/new/chapters/$2.txt
    mkdir -p "${file%/*}"
    {
        grep -E '^running [0-9]+ tests?$' "$raw"
        grep -E '^test .* \.\.\. ' "$raw" | LC_ALL=C sort
        echo
        grep '^test result:' "$raw" | sed -E 's/finished in [0-9.]+s/finished in …/'
    } >"$file"
}

# One failing test of a run before chapter 1 is done, the list of failures
# and the summary.
failing() {
    local raw=$work/tests/$1.out file=$work/new/chapters/$2.txt want=$3
    mkdir -p "${file%/*}"
    awk -v want="$want" '
        /^---- .* stdout ----$/ { inblock = ($2 == want) }
        /^failures:$/ { seen++; if (seen == 2) { inblock = 0; tail = 1 } }
        /^note: run with `RUST_BACKTRACE=1`/ { next }
        inblock || tail { print }
        tail && /^test result:/ { exit }
    ' "$raw" | sed -E 's/finished in [0-9.]+s/finished in …/' | cat -s >"$file"
    grep -q "^---- $want stdout ----" "$file" || {
        echo "transcripts: no failure of $want in $raw" >&2
        exit 1
    }
}

started=$(date +%s)

build stage0 ""
test_run stage1-todo stage1 stage1_chroot FAILED
test_run stage1 stage1,solved1 stage1_chroot ok
build stage2-todo stage2,solved1
test_run stage2 stage2,solved1,solved2 stage2_namespaces ok
test_run stage3 stage3,solved1,solved2,solved3 stage3_mounts ok
build stage4-todo stage4,solved1,solved2,solved3
test_run stage4 stage4,solved1,solved2,solved3,solved4 stage4_cgroups ok
build stage5-todo stage5,solved1,solved2,solved3,solved4
test_run stage5 stage5,solved1,solved2,solved3,solved4,solved5 stage5_network ok
build stage6-todo stage6,solved1,solved2,solved3,solved4,solved5
test_run stage6 stage6,solved1,solved2,solved3,solved4,solved5,solved6 stage6_btrfs ok
build stage7-todo stage7,solved1,solved2,solved3,solved4,solved5,solved6
# (A build, not a test run, until chapter 7 has its tests/stage7_*.rs.)
build stage7 stage7,solved1,solved2,solved3,solved4,solved5,solved6,solved7
build stage8-todo stage8,solved1,solved2,solved3,solved4,solved5,solved6,solved7
test_run stage8 stage8,solved1,solved2,solved3,solved4,solved5,solved6,solved7,solved8 stage8_security ok
build reference reference

failing stage1-todo 00-setup/transcripts/stage1-failures the_root_is_the_images_root
# Chapter 1 shows the report of its todo!() from that same failure.
mkdir -p "$work/new/chapters/01-chroot/transcripts"
grep -m 1 '^bocker: unfinished exercise' "$work/new/chapters/00-setup/transcripts/stage1-failures.txt" \
    >"$work/new/chapters/01-chroot/transcripts/todo.txt"
passing stage1 01-chroot/transcripts/tests
passing stage2 02-namespaces/transcripts/tests
passing stage3 03-mounts/transcripts/tests
passing stage4 04-cgroups/transcripts/tests
passing stage5 05-network/transcripts/tests
passing stage6 06-btrfs/transcripts/tests
passing stage8 08-security/transcripts/tests

say "running the sessions"
# chapter 1's escape program, where the pages put it: /tmp/escape.
rustc -O -C target-feature=+crt-static chapters/01-chroot/escape.rs -o "$work/tmp/escape"
# chapter 8's attack programs, where the page puts them: /tmp/dangerous-calls,
# /tmp/shocker, /tmp/whoami.
for program in dangerous_calls:dangerous-calls shocker:shocker whoami:whoami; do
    rustc -O -C target-feature=+crt-static "chapters/08-security/attacks/${program%%:*}.rs" \
        -o "$work/tmp/${program#*:}"
done
# A clean environment, as in a fresh root shell; a process group of its own,
# so that cleanup can end it all. In the background, so that a signal to
# this script is handled at once (bash runs traps between commands).
unshare --mount --net --propagation private setsid \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TERM=xterm LC_ALL=C.UTF-8 \
    "$self" --in-namespace "$work" "$work/new" 9>&- &
sessions_pid=$!
wait "$sessions_pid"
sessions_pid=""

say "done in $(( $(date +%s) - started ))s"

if [ "$mode" = write ]; then
    # Replace the transcripts, dropping any that are no longer made.
    for dir in "$work"/new/chapters/*/transcripts; do
        target=chapters/${dir#"$work"/new/chapters/}
        mkdir -p "$target"
        rm -f "$target"/*.txt
        cp "$dir"/*.txt "$target"/
        # Owned like the rest of the pages, not by root.
        chown --reference=chapters "$target" "$target"/*.txt
    done
    for dir in chapters/*/transcripts; do
        [ -d "$work/new/$dir" ] || rm -f "$dir"/*.txt
    done
    say "wrote $(find "$work/new" -name '*.txt' | wc -l) transcripts"
    exit 0
fi

# --check: normalise both sides, then compare.

# Chapter 7's transcripts, after the common normalisation (stdin to stdout):
# what a pull makes differently each time. Every digest is new on each run
# (the image's files and config carry the time they were made), so sha256
# digests, whole (64 hex digits) or short (the first 12, as pull prints
# them), are numbered in order of appearance, a short one as its whole one.
# The output of commands whose lines come in the order that parallel work
# finished is sorted instead, with its digests unnumbered: numbering them
# in an order that changes would change the numbers. A listing of a layer
# made by umoci is compared without its folders.
normalise_registry() {
    perl -e '
        my $unordered = qr{^# (?:bocker pull|skopeo copy|ls /tmp/book-ch7/blobs|grep bocker/)};
        my (%number, %short, $numbers);
        sub digest_number {
            my ($hex) = @_;
            if (length($hex) == 64) {
                $number{$hex} //= $short{substr($hex, 0, 12)} // ++$numbers;
                return $number{$hex};
            }
            for my $whole (keys %number) {
                return $number{$whole} if substr($whole, 0, 12) eq $hex;
            }
            return $short{$hex} //= ++$numbers;
        }
        sub numbered {
            my ($line) = @_;
            $line =~ s/\b([0-9a-f]{64})\b/"DIGEST" . digest_number($1)/ge;
            $line =~ s/\b([0-9a-f]{12})\b/"DIGEST" . digest_number($1)/ge;
            return $line;
        }
        my $prompt = "";
        my @block;
        sub flush {
            # tar -tv of a layer made by umoci: whether it has entries for
            # the folders (bin/, etc/) depends on whether their times
            # changed within the second umoci noted them in
            @block = grep { !m{/\n\z} } @block if $prompt =~ /\| tar -t/;
            if ($prompt =~ $unordered) {
                s/\b[0-9a-f]{64}\b/DIGEST/g for @block;
                s/\b[0-9a-f]{12}\b/DIGEST/g for @block;
                print sort @block;
            } else {
                print numbered($_) for @block;
            }
            @block = ();
        }
        while (my $line = <STDIN>) {
            # HTTP dates; the sizes of manifests and blobs (a layer holds
            # the times its files were made, compressed)
            $line =~ s/^Date: .*/Date: DATE/;
            $line =~ s/^Content-Length: \d+$/Content-Length: N/;
            $line =~ s/"size": \d+/"size": N/g;
            $line =~ s/: downloading .*/: downloading SIZE/;
            # times in image configs (RFC 3339) and in image records (ns)
            $line =~ s/"created": "[^"]*"/"created": "TIME"/;
            $line =~ s/"created": \d+/"created": N/;
            # tar -tv: the date of each entry
            $line =~ s/\b\d{4}-\d\d-\d\d \d\d:\d\d\b/DATE/;
            if ($line =~ /^# /) {
                flush();
                $prompt = $line;
                print numbered($line);
            } else {
                push @block, $line;
            }
        }
        flush();
    '
}

# Chapter 8's transcripts, after the common normalisation: the inode and
# generation numbers of shocker's scratch file (stat, lsattr -v), new on
# each run.
normalise_security() {
    perl -pe 's{^(?:\d+|NSINO) ((?:\S+ )?/tmp/host-secret)$}{N $1}'
}

normalise() { # normalise DIR OUT: DIR/chapters/*/transcripts/*.txt into OUT
    local file rel
    while IFS= read -r -d '' file; do
        rel=${file#"$1"/}
        mkdir -p "$2/$(dirname "$rel")"
        perl -e '
            my $prompt = "";
            my (%uuid, $uuids);
            while (my $line = <STDIN>) {
                if ($line =~ /^# /) { $prompt = $line; }
                # btrfs: UUIDs, numbered in order of appearance in this
                # file (the Parent UUID of a snapshot still equals the UUID
                # of its source); subvolume ids, generations and times
                $line =~ s/\b([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})\b/"UUID" . ($uuid{$1} \/\/= ++$uuids)/ge;
                $line =~ s/^ID \d+ gen \d+ top level/ID N gen G top level/;
                $line =~ s/^(\s*(?:Subvolume ID|Generation|Gen at creation):\s+)\d+$/${1}N/;
                $line =~ s/^(\s*(?:Creation|Send) time:\s+)\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}$/${1}DATE/;
                # loop devices
                $line =~ s{/dev/loop\d+}{/dev/loopN}g;
                # ids, and hostnames that are ids
                $line =~ s/\bimg_[0-9a-f]{12}\b/img_ID/g;
                $line =~ s/\bps_[0-9a-f]{12}\b/ps_ID/g;
                # thread ids of a test that panicked
                $line =~ s/^(thread .*) \(\d+\) panicked/$1 (TID) panicked/;
                # timings
                $line =~ s/^(real|user|sys)\t\d+m[\d.]+s$/$1\tTIME/;
                $line =~ s/finished in [\d.]+s/finished in …/;
                # file dates (ls -l)
                $line =~ s/\b[A-Z][a-z]{2} [ \d]\d (\d\d:\d\d| \d{4})\b/DATE/g;
                # namespace inode numbers
                $line =~ s/\b4\d{9}\b/NSINO/g;
                # scratch folders
                $line =~ s/bocker-transcripts\.\w{6}/bocker-transcripts.XXXXXX/g;
                # random MAC addresses (ifb devices, veth pairs, bridges)
                $line =~ s{link/ether ([0-9a-f]{2}:){5}[0-9a-f]{2}}{link/ether MAC};
                # veth ends, named after container ids: bk…, bc…
                $line =~ s/\bb([kc])[0-9a-f]{12}\b/b$1ID/g;
                # addresses of containers on the bridge, which come from
                # their random ids; not those of the subnet (the network
                # .0.0, the gateway .0.1, broadcast .255.255), nor the route
                # of the overlap check (172.30.5.0/24)
                $line =~ s{\b172\.30\.(\d{1,3})\.(\d{1,3})\b(?!/24)}{
                    ($1 == 0 && $2 <= 1) || ($1 == 255 && $2 == 255) ? "172.30.$1.$2" : "172.30.X.Y"
                }ge;
                # round-trip times of ping
                $line =~ s/ time=[\d.]+ ms$/ time=T ms/;
                $line =~ s{^round-trip min/avg/max = [\d./]+ ms$}{round-trip min/avg/max = T ms};
                # host pids: in commands that name them, and in their output
                $line =~ s{/proc/\d+/}{/proc/PID/}g;
                $line =~ s/"pid": \d+/"pid": PID/;
                if ($line =~ /^# /) {
                    $line =~ s/(kill -[A-Z]+|lsns -p|ps -o \S+ -p) [\d,]+/$1 PIDS/;
                } elsif ($prompt =~ /^# lsns /) {
                    # NS TYPE NPROCS PID: the process count and lowest pid
                    $line =~ s/^(\s*NSINO\s+\S+\s+)\d+\s+\d+/$1N PID/;
                } elsif ($prompt =~ /^# ps -o /) {
                    # PID PPID SID: pids of 2 digits and more (not init, 1)
                    $line =~ s{^(\s*\d+\s+\d+\s+\d+)}{
                        my $c = $1; $c =~ s/^\s+//; $c =~ s/\b\d{2,}\b/PID/g; $c
                    }e;
                } elsif ($prompt =~ /echo \$\$/ && $line =~ /^\d{2,}$/) {
                    $line = "PID\n";   # a host pid: the shell was not pid 1
                } elsif ($prompt =~ /^# wc -l < \/proc\/self\/mountinfo$/ && $line =~ /^\d+$/) {
                    $line = "N\n";     # the host has as many mounts as it has
                } elsif ($prompt =~ /^# du -h / && $line =~ /^\S+\t/) {
                    # the blocks a sparse file takes: what the filesystem
                    # in it happened to write
                    $line =~ s/^\S+\t/SIZE\t/;
                } elsif ($prompt =~ /^# ls -lh / && $line =~ /^total \S+$/) {
                    $line = "total SIZE\n";
                } elsif ($prompt =~ /^# ls -lh / && $line =~ / btrfs\.img$/) {
                    # its length: 16 GiB, or less when the disk has less free
                    $line =~ s/^(\S+\s+\d+\s+\S+\s+\S+\s+)\S+/${1}SIZE/;
                } elsif ($prompt =~ /^# cat cgroup\.procs$/ && $line =~ /^\d+$/) {
                    $line = "PID\n";   # a host pid: the first process of a container
                } elsif ($prompt =~ /^# cat \/proc\/cgroups$/) {
                    # subsys_name hierarchy num_cgroups enabled: how many
                    # cgroups a hierarchy has depends on what else runs
                    $line =~ s/^(\w+\t\d+\t)\d+(\t\d+)$/$1N$2/;
                } elsif ($prompt =~ /^# bocker stats/ && $line =~ /^ps_ID /) {
                    # what a container uses: CPU %, CPU time, and the memory
                    # in use (before " / LIMIT") and its peak (after it)
                    $line =~ s/\b\d+\.\d%/N%/;
                    $line =~ s/\b\d+\.\d\ds\b/Ns/;
                    $line =~ s{\S+( +/ +\S+ +)\S+}{SIZE$1SIZE};
                }
                # the pid of a process the OOM killer killed (dmesg)
                $line =~ s/Killed process \d+/Killed process PID/;
                # column widths change with the width of what was replaced
                $line =~ s/ +/ /g;
                $line =~ s/ $//;
                print $line;
            }
        ' <"$file" | case $rel in
            chapters/07-registry/*) normalise_registry ;;
            chapters/08-security/*) normalise_security ;;
            *) cat ;;
        esac >"$2/$rel"
    done < <(find "$1/chapters" -path '*/transcripts/*.txt' -print0)
}
mkdir -p "$work/norm/committed" "$work/norm/now" "$work/committed/chapters"
if compgen -G 'chapters/*/transcripts/*.txt' >/dev/null; then
    for file in chapters/*/transcripts/*.txt; do
        mkdir -p "$work/committed/$(dirname "$file")"
        cp "$file" "$work/committed/$file"
    done
    normalise "$work/committed" "$work/norm/committed"
fi
normalise "$work/new" "$work/norm/now"
if ! (cd "$work/norm" && diff -ru committed now); then
    echo "transcripts: the transcripts above differ from what the commands print now" >&2
    echo "transcripts: run scripts/transcripts.sh, and check the pages that include them" >&2
    exit 1
fi
echo "transcripts ok"
