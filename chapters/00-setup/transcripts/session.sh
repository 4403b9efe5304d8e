# Chapter 0's session, the tour of the finished runtime: the commands of
# its pages, in their order, as a student types them in the root shell
# that the page opens. The lines given to `cmds` are shown, with what they
# print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 0`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.

# The root shell of the page: `export BOCKER_ROOT=/tmp/book-demo` and
# `export BOCKER_STORAGE=copy` (the builds of chapters 1 to 5 use this
# folder too, and they know only copies). BOCKER_BRIDGE=none is the
# transcripts' own: chapters 0 to 4 show no network (the finished
# runtime's bridge, chapter 5, would add a link to their listings, in a
# state that changes from run to run). Chapter 5 has no such variable.
export BOCKER_ROOT=/tmp/book-demo BOCKER_STORAGE=copy BOCKER_BRIDGE=none

out busybox-rootfs
cmds <<'EOF'
scripts/make-busybox-rootfs.sh /tmp/busybox
ls -1 /tmp/busybox
ls -l /tmp/busybox/bin/sh
EOF
use reference
out init
cmds <<'EOF'
bocker init /tmp/busybox
bocker images
EOF
var IMG="$(last_id img)"
out run
cmds <<'EOF'
bocker run $IMG echo hello
bocker run $IMG 'cat /etc/os-release; cat /etc/hostname'
EOF
var HELLO="$(grep -o 'ps_[0-9a-f]\{12\}' <(bocker ps) | head -n 1)"
out exit-codes
cmds <<'EOF'
bocker run --name sad $IMG 'echo to stdout; echo to stderr >&2; exit 3'; echo "exit code: $?"
bocker run $IMG no-such-program; echo "exit code: $?"
EOF
out ps-logs
cmds <<'EOF'
bocker ps
bocker logs $HELLO
bocker logs sad
bocker logs sad 2>/dev/null
EOF
out rm
cmds <<'EOF'
bocker rm $HELLO sad
bocker ps
EOF
