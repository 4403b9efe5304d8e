# Chapter 3's session: the commands of its pages, in their order, as
# a student types them in the root shell that chapter 0 opens. The lines
# given to `cmds` are shown, with what they print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 3`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.

# Not shown: the shell as chapter 2 left it, and the escape program of
# chapter 1, /tmp/escape.
export BOCKER_ROOT=/tmp/book-ch2 BOCKER_STORAGE=copy BOCKER_BRIDGE=none
program escape

# The image with the escape program comes first: "Where we start" uses it.
use stage3
out escape-again
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
out stage2
cmds <<'EOF'
bocker run $IMG3 /bin/escape /tmp/marker
bocker run $IMG3 ps
bocker run $IMG3 ls -la /dev
bocker run $IMG3 'echo secret > /dev/null; cat /dev/null; ls -l /dev/null'
bocker run $IMG3 head -c 4 /dev/urandom
EOF
out propagation-of-root
cmds <<'EOF'
findmnt -o TARGET,PROPAGATION /
EOF
out shared-demo
cmds <<'EOF'
mkdir /tmp/demo && mount -t tmpfs demo /tmp/demo && mount --make-shared /tmp/demo
findmnt -o TARGET,PROPAGATION /tmp/demo
EOF
out leak
cmds <<'EOF'
unshare --mount --propagation unchanged sh -c 'mkdir /tmp/demo/a && mount -t tmpfs a /tmp/demo/a'
findmnt -o TARGET,PROPAGATION -R /tmp/demo
unshare --mount --propagation private sh -c 'mkdir /tmp/demo/b && mount -t tmpfs b /tmp/demo/b'
findmnt -o TARGET,PROPAGATION -R /tmp/demo
umount -R /tmp/demo && rmdir /tmp/demo
EOF
use stage3
out escape-again
cmds <<'EOF'
bocker run $IMG3 /bin/escape /tmp/marker
EOF
out proc
cmds <<'EOF'
bocker run $IMG3 ps
bocker run $IMG3 '/bin/true; cat /proc/self/stat | cut -d" " -f1-4'
EOF
out mounts
cmds <<'EOF'
bocker run $IMG3 cat /proc/mounts
EOF
out sys
cmds <<'EOF'
bocker run $IMG3 'mkdir /sys/x'
bocker run $IMG3 ls /sys/class/net
bocker run --net host $IMG3 ls /sys/class/net
EOF
out dev
cmds <<'EOF'
bocker run $IMG3 ls -l /dev
bocker run $IMG3 'echo secret > /dev/null; cat /dev/null; head -c 4 /dev/urandom | wc -c'
bocker run $IMG3 'ls -ld /tmp; touch /tmp/x; ls /tmp'
EOF
out exec
cmds <<'EOF'
bocker run -d --name box $IMG3 sleep 1000
bocker exec box ps
bocker exec box cat /proc/mounts | wc -l
EOF
out host-mounts
cmds <<'EOF'
wc -l < /proc/self/mountinfo
grep -c book-ch3 /proc/self/mountinfo
bocker stop -t 0 box
wc -l < /proc/self/mountinfo
EOF
