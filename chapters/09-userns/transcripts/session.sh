# Chapter 9's session: the commands of its pages, in their order, typed
# by an ordinary user, `student` (uid 1000, subordinate ids 100000-165535),
# in a shell of their own: `student_cmds` shows a `$` prompt. Sourced by
# scripts/lib/transcript-session.sh (its helpers: student, student_cmds,
# out, use, var, last_id); `cargo xtask transcripts 9` runs it, alone,
# from a fresh /tmp and a fresh stand-in host.

# Not shown: the user and their files (see `student`).
student

# "Where we start": chapters 1 to 3 without root, the frame's one-id map.
use stage3
out image
student_cmds <<'CMDS'
scripts/make-busybox-rootfs.sh /tmp/bb9 >/dev/null && bocker init /tmp/bb9
CMDS
var IMG9="$(last_id img)"
out start
student_cmds <<'CMDS'
bocker run --rm $IMG9 'id; cat /proc/self/uid_map'
bocker run --rm $IMG9 'chown 1000 /tmp'
bocker run --rm $IMG9 'start-stop-daemon -S -c nobody -x /usr/bin/id -- -u'
CMDS

# "See it with the system's own tools".
out tools
student_cmds <<'CMDS'
cat /proc/self/uid_map
unshare --net true
unshare --user sh -c 'id; cat /proc/self/uid_map'
unshare --user --map-root-user --net sh -c 'id; cat /proc/self/uid_map; cat /proc/self/setgroups'
unshare --user --map-root-user sh -c 'grep CapEff /proc/self/status; hostname x'
unshare --user --map-root-user --uts sh -c 'hostname inside; hostname'
unshare --user --map-root-user --mount sh -c 'mount -t tmpfs t /mnt && mknod /mnt/null c 1 3'
grep "^$USER:" /etc/subuid /etc/subgid
CMDS

# "Ranges, through the helpers": a range that is not yours.
out helpers
student_cmds <<'CMDS'
unshare --user sleep 5 & sleep 0.2; newuidmap $! 0 1000 1 1 200000 1; kill $!
CMDS

# "Try it", with the chapter done.
use stage9
out try
student_cmds <<'CMDS'
bocker run --rm $IMG9 'cat /proc/self/uid_map; cat /proc/self/setgroups'
bocker run --rm $IMG9 'start-stop-daemon -S -c nobody -x /usr/bin/id -- -u'
bocker run -d $IMG9 'touch /by-root; touch /by-1000; chown 1000:1000 /by-1000; sleep 1000'
CMDS
var ID9="$(last_id ps)"
student_cmds <<'CMDS'
ls -ln ~/.local/share/bocker/containers/$ID9/rootfs/by-*
bocker stop $ID9 && bocker rm $ID9
CMDS

# Every chapter: limits are refused, pasta forwards a port.
use reference
out limits
student_cmds <<'CMDS'
bocker run --rm --memory 64m $IMG9 true
CMDS
# The stand-in host's default route, which pasta copies in (not shown).
ip route add default via 192.0.2.254
out pasta
student_cmds <<'CMDS'
bocker run -d -p 8080:80 $IMG9 nc -ll -p 80 -e echo hello from the container
CMDS
var ID9P="$(last_id ps)"
wait_for_listener "$(student_running_pid "$ID9P")" 80
student_cmds <<'CMDS'
busybox nc 127.0.0.1 8080 </dev/null
bocker stop $ID9P && bocker rm $ID9P
CMDS
