# Chapter 1's session: the commands of its pages, in their order, as
# a student types them in the root shell that chapter 0 opens. The lines
# given to `cmds` are shown, with what they print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 1`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.

# Not shown: the shell as chapter 0 left it (see its session.sh), with
# chapter 0's image, $IMG; and the escape program, /tmp/escape, which the
# page builds (`rustc … -o /tmp/escape`) before the session.
export BOCKER_ROOT=/tmp/book-demo BOCKER_STORAGE=copy BOCKER_BRIDGE=none
chapter0_image reference
program escape

use stage0
out stage0
cmds <<'EOF'
bocker run $IMG cat /etc/os-release
bocker run $IMG pwd
bocker run $IMG cat etc/os-release
EOF
use stage1
out still-shared
cmds <<'EOF'
hostname
bocker run $IMG hostname
bocker run $IMG 'ip -o link | cut -d" " -f2'
bocker run $IMG 'ls /proc; ps'
bocker run $IMG id
EOF
use stage0
out stage0-env
cmds <<'EOF'
SECRET=hunter2 bocker run $IMG 'echo $SECRET'
EOF
use stage1
out stage1
cmds <<'EOF'
bocker run $IMG cat /etc/os-release
bocker run $IMG pwd
SECRET=hunter2 bocker run $IMG 'echo $SECRET'
SECRET=hunter2 bocker run -e GREETING=hello $IMG env
bocker run $IMG ls /tmp/book-demo
EOF
out stdin
cmds <<'EOF'
echo 'typed on the host' | bocker run -i $IMG cat
echo 'typed on the host' | bocker run $IMG cat; echo "exit code: $?"
EOF
# /tmp/escape: `rustc … -o /tmp/escape`, built before the session.
out escape-image
cmds <<'EOF'
cp /tmp/escape /tmp/busybox/bin/escape
echo "a file on the host, outside every image" > /tmp/marker
bocker init /tmp/busybox
EOF
var ESC="$(last_id img)"
out escape-stage1
cmds <<'EOF'
bocker run $ESC cat /tmp/marker
bocker run $ESC /bin/escape /tmp/marker
EOF
use reference
out escape-reference
cmds <<'EOF'
bocker run $ESC /bin/escape /tmp/marker
EOF
