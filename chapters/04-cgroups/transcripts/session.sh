# Chapter 4's session: the commands of its pages, in their order, as
# a student types them in the root shell that chapter 0 opens. The lines
# given to `cmds` are shown, with what they print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 4`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.

# Not shown: the shell as chapter 3 left it.
export BOCKER_ROOT=/tmp/book-ch3 BOCKER_STORAGE=copy BOCKER_BRIDGE=none
home=$PWD # the cgroup sessions `cd`; come back afterwards

# The image comes first (the page's first "Try it" shows how it was
# made), then "Where we start" with the stage 3 build.
use stage4
out limits
cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch4
scripts/make-busybox-rootfs.sh /tmp/bb4
bocker init /tmp/bb4
EOF
var IMG4="$(last_id img)"
use stage3
out stage3
cmds <<'EOF'
bocker run $IMG4 'x=$(head -c 100000000 /dev/zero | tr "\0" x); echo survived ${#x}'
bocker run $IMG4 'for i in $(seq 1 100); do sleep 10 & done; echo started $i'
bocker run --memory 64m $IMG4 true
EOF
out hierarchies
cmds <<'EOF'
stat -fc '%n %T' /sys/fs/cgroup /sys/fs/cgroup/memory /sys/fs/cgroup/unified
findmnt -R -o TARGET,FSTYPE,OPTIONS /sys/fs/cgroup
cat /proc/cgroups
cat /sys/fs/cgroup/unified/cgroup.controllers
EOF
# A cgroup made by hand, in the memory tree (and none left over from an
# interrupted run): part one's four files, on the command line.
rmdir /sys/fs/cgroup/memory/demo /sys/fs/cgroup/pids/demo 2>/dev/null || true
out by-hand
cmds <<'EOF'
mkdir /sys/fs/cgroup/memory/demo
ls /sys/fs/cgroup/memory/demo | grep -E '^(cgroup.procs|tasks|memory.(limit|usage|max_usage)_in_bytes)$'
cat /sys/fs/cgroup/memory/demo/memory.limit_in_bytes
echo 67108864 > /sys/fs/cgroup/memory/demo/memory.limit_in_bytes
cat /sys/fs/cgroup/memory/demo/memory.limit_in_bytes
sh -c 'echo $$ > /sys/fs/cgroup/memory/demo/cgroup.procs; grep memory /proc/self/cgroup; x=$(head -c 20000000 /dev/zero | tr "\0" x); cat /sys/fs/cgroup/memory/demo/memory.usage_in_bytes'
cat /sys/fs/cgroup/memory/demo/cgroup.procs
rmdir /sys/fs/cgroup/memory/demo
EOF
# The same with the pids controller (Under the hood).
out pids-by-hand
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
out todo
BOCKER_ROOT=/tmp/scratch4 bocker init /tmp/bb4 >/dev/null
{ BOCKER_ROOT=/tmp/scratch4 bocker run "$(BOCKER_ROOT=/tmp/scratch4 bocker images | awk 'NR == 2 {print $1}')" true 2>&1 || true; } \
    | todo_line

# The "Try it" sections, in the page's order.
use stage4
out limits
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
out inside
cmds <<'EOF'
bocker run $IMG4 cat /proc/self/cgroup
bocker exec limited cat /proc/self/cgroup
EOF
out variables
cmds <<'EOF'
BOCKER_MEM_LIMIT=100 BOCKER_CPU_SHARE=256 bocker run -d --name old-style $IMG4 sleep 1000
EOF
var OLD="$(last_id ps)"
cmds <<'EOF'
cat /sys/fs/cgroup/memory/bocker/$OLD/memory.limit_in_bytes /sys/fs/cgroup/cpu/bocker/$OLD/cpu.shares
bocker stop -t 0 old-style
EOF
out pids
cmds <<'EOF'
bocker run --pids-limit 10 $IMG4 'for i in $(seq 1 12); do sleep 100 & echo started $i; done'
EOF
# The shell adds 10 MB to its variable every 2 seconds; each `stats`
# comes while it sleeps, as a student reading `bocker stats` would see.
out memory
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
out cpu
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
out pause
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
