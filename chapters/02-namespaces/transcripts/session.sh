# Chapter 2's session: the commands of its pages, in their order, as
# a student types them in the root shell that chapter 0 opens. The lines
# given to `cmds` are shown, with what they print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 2`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.

# Not shown: the shell as chapter 1 left it, with chapter 0's image, $IMG.
export BOCKER_ROOT=/tmp/book-demo BOCKER_STORAGE=copy BOCKER_BRIDGE=none
chapter0_image stage1

use stage1
out stage1
cmds <<'EOF'
hostname
bocker run $IMG hostname
bocker run $IMG 'echo $$'
EOF
out own-namespaces
cmds <<'EOF'
ls -l /proc/self/ns
EOF
use stage2
out hostnames
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
out ip-link
cmds <<'EOF'
bocker run $IMG2 ip link
bocker run --net host $IMG2 ip link
EOF
out empty-proc
cmds <<'EOF'
bocker run $IMG2 ls -la /proc
bocker run $IMG2 ps
EOF
out detach
cmds <<'EOF'
bocker run -d --name sleeper $IMG2 sleep 1000
bocker ps
EOF
var SLEEPER="$(last_id ps)"
var PID="$(running_pid "$SLEEPER")"
var MONITOR="$(ps -o ppid= -p "$PID" | tr -d ' ')"
out from-the-host
cmds <<'EOF'
grep '^  "pid"' /tmp/book-ch2/containers/$SLEEPER/container.json
ls -l /proc/$PID/ns
lsns -p $PID
ps -o pid,ppid,sid,args -p $MONITOR,$PID
EOF
out exec
cmds <<'EOF'
bocker exec sleeper sh -c 'echo $$; hostname'
bocker exec sleeper no-such-program; echo "exit code: $?"
EOF
out signals
cmds <<'EOF'
bocker exec sleeper kill -TERM 1
bocker exec sleeper kill -KILL 1
kill -TERM $PID
bocker ps
EOF
out stop
cmds <<'EOF'
time bocker stop -t 1 sleeper
bocker ps
bocker exec sleeper true; echo "exit code: $?"
bocker exec nobody true; echo "exit code: $?"
EOF
out stop-polite
cmds <<'EOF'
bocker run -d --name polite $IMG2 'trap "echo bye; exit 0" TERM; while true; do sleep 1; done'
EOF
wait_for_term_handler "$(running_pid "$(last_id ps)")"
cmds <<'EOF'
time bocker stop polite
bocker logs polite
EOF
out init
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
out todo
BOCKER_ROOT=/tmp/scratch bocker init /tmp/bb2 >/dev/null
{ BOCKER_ROOT=/tmp/scratch bocker run "$(BOCKER_ROOT=/tmp/scratch bocker images | awk 'NR == 2 {print $1}')" true 2>&1 || true; } \
    | todo_line
