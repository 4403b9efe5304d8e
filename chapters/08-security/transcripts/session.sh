# Chapter 8's session: the commands of its pages, in their order, as
# a student types them in the root shell that chapter 0 opens. The lines
# given to `cmds` are shown, with what they print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 8`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.

# Not shown: the shell as chapter 7 left it, the bridge that chapter 5
# left on the stand-in host, and the attack programs that the page builds
# before the session (/tmp/dangerous-calls, /tmp/shocker, /tmp/whoami).
export BOCKER_ROOT=/tmp/book-ch7
unset BOCKER_STORAGE BOCKER_BRIDGE
chapter5_bridge stage7
program dangerous-calls
program shocker
program whoami

# The attack programs are built before the sessions, where the page puts
# them (/tmp/dangerous-calls, /tmp/shocker, /tmp/whoami), and copied into
# a busybox tree under new names (busybox's whoami is a link to busybox
# itself: a copy onto it would overwrite busybox). The state folder keeps
# copies: shocker's file handle only opens a file on the filesystem of
# the container's root, and the page's "host file" is in /tmp.
use stage7
out image
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
out stage7
cmds <<'EOF'
bocker run $IMG8 grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
bocker run $IMG8 dangerous-calls
bocker run --user 1000 $IMG8 show-ids
bocker run $IMG8 '{ echo box > /proc/sys/kernel/hostname; } 2>&1; hostname'
EOF
use reference
out reference
cmds <<'EOF'
bocker run $IMG8 grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
bocker run --user 1000 $IMG8 show-ids
bocker run $IMG8 '{ echo box > /proc/sys/kernel/hostname; } 2>&1; hostname'
EOF
# The first todo!() of chapter 8, as the untouched exercise reports it.
use stage8-todo
out todo
{ bocker run --rm "$IMG8" true 2>&1 || true; } | todo_line

# The "Try it" sections, in the page's order, with the finished runtime.
use reference
out capabilities
cmds <<'EOF'
cat /proc/sys/kernel/cap_last_cap
grep Cap /proc/self/status
bocker run --rm $IMG8 grep Cap /proc/self/status
bocker run --rm $IMG8 setpriv -d
bocker run --rm --user 1000 $IMG8 grep Cap /proc/self/status
bocker run --rm --cap-add NET_ADMIN --cap-drop CHOWN $IMG8 setpriv -d | grep bounding
bocker run --rm --cap-drop CHOWN $IMG8 chown 1000 /tmp
EOF
out net-admin
cmds <<'EOF'
bocker run --rm --net none $IMG8 'ip link set lo down 2>&1; ip -o link show lo | cut -d" " -f2,3'
bocker run --rm --net none --cap-add NET_ADMIN $IMG8 'ip link set lo down 2>&1; ip -o link show lo | cut -d" " -f2,3'
EOF
out setuid
cmds <<'EOF'
bocker run --rm $IMG8 stat -c '%A %U %n' /bin/show-ids
bocker run --rm --user 1000 $IMG8 show-ids
bocker run --rm --user 1000 --security-opt no-new-privileges=false $IMG8 show-ids
bocker run --rm --user 1000 --security-opt no-new-privileges=false $IMG8 grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status
EOF
out seccomp
cmds <<'EOF'
bocker run --rm $IMG8 dangerous-calls
bocker run --rm --cap-add SYS_ADMIN $IMG8 dangerous-calls
bocker run --rm --security-opt seccomp=unconfined $IMG8 dangerous-calls
EOF
out masked
cmds <<'EOF'
bocker run --rm $IMG8 'ls -l /proc/keys /proc/timer_list /proc/kcore /proc/sysrq-trigger 2>&1'
bocker run --rm $IMG8 'ls -A /sys/firmware; touch /sys/firmware/x 2>&1'
bocker run --rm $IMG8 grep -E ' /proc/(bus|fs|irq|sys|keys|timer_list) ' /proc/mounts
bocker run --rm $IMG8 '{ echo box > /proc/sys/kernel/hostname; } 2>&1; hostname'
EOF
out devices
cmds <<'EOF'
bocker run -d --name box $IMG8 sleep 1000
EOF
var BOX8="$(last_id ps)"
cmds <<'EOF'
cat /sys/fs/cgroup/devices/bocker/$BOX8/devices.list
bocker exec box sh -c 'mknod /dev/kmsg c 1 11 && ls -l /dev/kmsg && head -c 1 /dev/kmsg 2>&1'
bocker exec box sh -c 'head -c 3 /dev/zero | wc -c'
EOF
out exec-init
cmds <<'EOF'
bocker exec box grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status
bocker stop -t 0 box
bocker run --rm --init $IMG8 grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status /proc/1/status
EOF
# The "host file" is the session's own, in its scratch /tmp: never a
# real file of the machine.
out shocker
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
out privileged
cmds <<'EOF'
bocker run --rm --privileged $IMG8 grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status
bocker run --rm --privileged $IMG8 'ls -l /proc/keys; { echo box > /proc/sys/kernel/hostname; } 2>&1; hostname'
bocker run --rm --privileged $IMG8 'mknod /dev/kmsg c 1 11 && head -c 1 /dev/kmsg > /dev/null && echo "read the host kernel log"'
EOF
out end
cmds <<'EOF'
bocker system reset --force
rm -rf /tmp/book-ch8 /tmp/bb8 /tmp/host-secret
unset BOCKER_STORAGE
EOF
