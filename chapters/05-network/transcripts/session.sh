# Chapter 5's session: the commands of its pages, in their order, as
# a student types them in the root shell that chapter 0 opens. The lines
# given to `cmds` are shown, with what they print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 5`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.

# Not shown: the shell as chapter 4 left it, but for BOCKER_BRIDGE=none,
# the transcripts' own (see chapter 0's session.sh): a student's shell has
# no such variable. From here on, containers get the default bridge,
# bocker0, made in the stand-in host these sessions run in.
export BOCKER_ROOT=/tmp/book-ch4 BOCKER_STORAGE=copy
unset BOCKER_BRIDGE

# The image comes first (the page's first "Try it" shows how it was
# made), then "Where we start" with the stage 4 build.
use stage5
out bridge
cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch5
scripts/make-busybox-rootfs.sh /tmp/bb5
bocker init /tmp/bb5
EOF
var IMG5="$(last_id img)"
use stage4
out stage4
cmds <<'EOF'
ip -4 addr
bocker run $IMG5 ip addr
bocker run $IMG5 ping -c 1 127.0.0.1
bocker run $IMG5 ping -c 1 192.0.2.1
bocker run --net bridge $IMG5 true
EOF
# The first todo!() of chapter 5, as the untouched exercise reports it.
use stage5-todo
out todo
BOCKER_ROOT=/tmp/scratch5 bocker init /tmp/bb5 >/dev/null
{ BOCKER_ROOT=/tmp/scratch5 bocker run "$(BOCKER_ROOT=/tmp/scratch5 bocker images | awk 'NR == 2 {print $1}')" true 2>&1 || true; } \
    | todo_line

# The "Try it" sections, in the page's order.
use stage5
out bridge
cmds <<'EOF'
bocker run $IMG5 ip -4 addr
bocker run $IMG5 ip route
bocker run $IMG5 ping -c 2 172.30.0.1
bocker run $IMG5 ping -c 1 192.0.2.1
EOF
out from-the-host
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
out two
cmds <<'EOF'
bocker exec one hostname -i
EOF
var ONEIP="$(bocker exec one hostname -i)"
cmds <<'EOF'
bocker run $IMG5 ping -c 2 $ONEIP
EOF
out modes
cmds <<'EOF'
bocker run --net none $IMG5 ip addr
bocker run --net none $IMG5 ping -c 1 127.0.0.1
bocker run --net host $IMG5 ip -4 addr
bocker run --net container:one $IMG5 ip -4 addr
bocker run --net container:one $IMG5 hostname
EOF
out subnet
cmds <<'EOF'
ip route add 172.30.5.0/24 dev eth0
bocker run $IMG5 true; echo "exit code: $?"
ip route del 172.30.5.0/24 dev eth0
EOF
# Without the optional exercise (feature extra5), -p is refused.
out refused
cmds <<'EOF'
bocker run -p 8080:80 $IMG5 true; echo "exit code: $?"
EOF
out etc
cmds <<'EOF'
cat /etc/resolv.conf
bocker run --hostname box $IMG5 'cat /etc/hosts; cat /etc/hostname; cat /etc/resolv.conf'
bocker run --net none --hostname alone $IMG5 cat /etc/hosts
EOF
out after
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

# The optional exercise's page (extra.md): NAT, with the exercise solved
# (the reference build has extra5 and solved-extra5). After "after": the
# bridge's first container installs the way out, MASQUERADE included.
use reference
out ports
cmds <<'EOF'
bocker run -d --name web -p 8080:80 $IMG5 'nc -l -p 80 -e echo hello from web'
EOF
var WEB="$(last_id ps)"
wait_for_listener "$(running_pid "$WEB")" 80
cmds <<'EOF'
bocker port web
iptables -t nat -S
iptables -S FORWARD
busybox nc 192.0.2.1 8080
EOF
wait_for_exit "$WEB"
out localhost
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
