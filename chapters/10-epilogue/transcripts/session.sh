# The epilogue's session: the commands of its pages, in their order, as
# a student types them in the root shell that chapter 0 opens. The lines
# given to `cmds` are shown, with what they print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 10`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.
#
# podman and containerd run here with everything of theirs in /tmp (their
# storage, state, sockets, configuration), as tests/course/oci_podman.rs
# and oci_containerd.rs drive them: nothing of the machine's own podman or
# containerd is read or written, and no image is pulled from anywhere.
# The paths they use whatever they are told (/run/libpod, /run/containerd,
# podman's lock in /dev/shm) get tmpfs mounts of this session's own, in its
# private mount namespace; so does /usr/local/bin, where the pages install
# bocker, which here is the reference build, bind-mounted.

use reference
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /usr/local/bin
touch /usr/local/bin/bocker
mount --bind "$bocker_bin" /usr/local/bin/bocker

# On the way out, also after an error: the engines' containers, the
# engines, and the parent cgroups they made (ctr's `book`, podman's
# `libpod_parent`), then what the helper script stops.
containerd_pid=""
stop_engines() {
    if [ -n "${CONTAINERS_CONF:-}" ]; then
        podman rm --all --force --time 0 >/dev/null 2>&1 || true
    fi
    if [ -n "$containerd_pid" ]; then
        ctr --address /tmp/containerd/containerd.sock --namespace book \
            task kill -s SIGKILL c2 >/dev/null 2>&1 || true
        ctr --address /tmp/containerd/containerd.sock --namespace book \
            task rm -f c2 >/dev/null 2>&1 || true
        kill -TERM "$containerd_pid" 2>/dev/null || true
        wait "$containerd_pid" 2>/dev/null || true
        containerd_pid=""
    fi
    local dir
    for dir in /sys/fs/cgroup/*/book /sys/fs/cgroup/book /sys/fs/cgroup/*/libpod_parent/conmon \
        /sys/fs/cgroup/libpod_parent/conmon /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
        [ -d "$dir" ] && rmdir "$dir" 2>/dev/null || true
    done
}
trap 'stop_engines; stop_registry; stop_everything' EXIT

# Wait (silently) until `bocker state ID` (in state root ROOT) says STATUS.
wait_for_oci_status() {
    local root=$1 id=$2 status=$3 i
    for i in $(seq 200); do
        if /usr/local/bin/bocker --root "$root" state "$id" 2>/dev/null |
            grep -q "\"status\": \"$status\""; then
            return 0
        fi
        sleep 0.05
    done
    echo "transcript-session: container $id never became $status" >&2
    return 1
}

# "A bundle": an image made with umoci from the busybox files, as in
# chapter 7, then unpacked into a bundle, the runtime's input.
out bundle
cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch10
scripts/make-busybox-rootfs.sh /tmp/bb10
umoci init --layout /tmp/oci
umoci new --image /tmp/oci:busybox
umoci unpack --image /tmp/oci:busybox /tmp/work
cp -a /tmp/bb10/. /tmp/work/rootfs/
umoci repack --image /tmp/oci:busybox /tmp/work
umoci config --image /tmp/oci:busybox --config.cmd sh
umoci unpack --image /tmp/oci:busybox /tmp/c1
ls /tmp/c1
jq -c '.ociVersion, .root, .hostname, .process.terminal, .process.args' /tmp/c1/config.json
jq -c '[.linux.namespaces[].type], [.mounts[].destination]' /tmp/c1/config.json
EOF

# "The lifecycle": bocker alone, as an engine would call it.
out lifecycle
cmds <<'EOF'
bocker create --bundle /tmp/c1 c1
jq '.process.terminal = false | .process.args = ["sh", "-c", "echo hello from $(hostname); sleep 1000"]' /tmp/c1/config.json > /tmp/config.json
mv /tmp/config.json /tmp/c1/config.json
bocker create --bundle /tmp/c1 c1 > /tmp/c1.log 2>&1
bocker state c1
stat -c '%A %n' /tmp/book-ch10/oci/c1/*
EOF
var PID="$(/usr/local/bin/bocker state c1 | jq .pid)"
cmds <<'EOF'
ps -o stat,args -p $PID
cat /tmp/c1.log
bocker start c1
EOF
wait_for_line_in() { # FILE LINE: quietly, as a student would wait
    local i
    for i in $(seq 200); do
        grep -qx -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "transcript-session: $1 never got the line $2" >&2
    return 1
}
wait_for_line_in /tmp/c1.log "hello from umoci-default"
cmds <<'EOF'
cat /tmp/c1.log
ps -o stat,args -p $PID
bocker state c1 | grep status
ls /tmp/book-ch10/oci/c1
bocker exec c1 ps
bocker pause c1
bocker state c1 | grep status
bocker resume c1
bocker kill c1 KILL
EOF
wait_for_oci_status /tmp/book-ch10 c1 stopped
cmds <<'EOF'
bocker state c1 | grep status
bocker delete c1
bocker state c1
EOF

# "Under podman": its configuration files, written with an editor as
# `cat` shows them, and the wrapper that gives bocker its own state root.
mkdir -p /tmp/podman
cat >/tmp/podman/containers.conf <<'EOF'
[containers]
netns = "none"
default_ulimits = []
log_driver = "k8s-file"

[engine]
runtime = "bocker"
runtime_supports_json = ["bocker"]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "/tmp/podman/events.log"
image_copy_tmp_dir = "storage"
pull_policy = "never"

[engine.runtimes]
bocker = ["/tmp/podman/bocker"]

[network]
network_config_dir = "/tmp/podman/networks"
EOF
cat >/tmp/podman/storage.conf <<'EOF'
[storage]
driver = "vfs"
graphroot = "/tmp/podman/root"
runroot = "/tmp/podman/run"
EOF
printf '#!/bin/sh\nexec /usr/local/bin/bocker --root /tmp/podman/state "$@"\n' >/tmp/podman/bocker
chmod +x /tmp/podman/bocker
out podman-setup
cmds <<'EOF'
cat /tmp/podman/containers.conf
cat /tmp/podman/storage.conf
cat /tmp/podman/bocker
export CONTAINERS_CONF=/tmp/podman/containers.conf CONTAINERS_STORAGE_CONF=/tmp/podman/storage.conf
skopeo copy oci:/tmp/oci:busybox oci-archive:/tmp/busybox.tar
podman load -q -i /tmp/busybox.tar
EOF
var IMAGE_ID="$(podman images -q | head -n 1)"
cmds <<'EOF'
podman tag $IMAGE_ID localhost/busybox
podman images --format '{{.Repository}}:{{.Tag}}'
EOF
out podman
cmds <<'EOF'
podman run --rm localhost/busybox echo hello from bocker
podman run --rm -t localhost/busybox tty
podman run --rm localhost/busybox sh -c 'exit 3'; echo $?
podman run --rm --memory 64m --pids-limit 50 localhost/busybox cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max
podman run -d --name web localhost/busybox sleep 1000
EOF
var CONMON="$(podman inspect -f '{{.State.ConmonPid}}' web)"
cmds <<'EOF'
ps -o pid,ppid,comm --ppid $CONMON -p $CONMON
ls /tmp/podman/state/oci
podman exec web ps
podman pause web
podman inspect -f '{{.State.Status}}' web
podman unpause web
podman stop -t 0 web
podman rm web
EOF

# "Under containerd": a containerd of the session's own (its socket, root
# and state in /tmp/containerd, the CRI plugin off), started in the
# background as the page shows, and stopped by its `kill %1`.
mkdir -p /tmp/containerd
cat >/tmp/containerd/config.toml <<'EOF'
version = 2
root = "/tmp/containerd/root"
state = "/tmp/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "/tmp/containerd/containerd.sock"
[ttrpc]
  address = "/tmp/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
out containerd
cmds <<'EOF'
cat /tmp/containerd/config.toml
containerd --config /tmp/containerd/config.toml > /tmp/containerd/log 2>&1 &
EOF
containerd_pid=$!
for i in $(seq 400); do
    ctr --address /tmp/containerd/containerd.sock version >/dev/null 2>&1 && break
    sleep 0.05
done
cmds <<'EOF'
export CONTAINERD_ADDRESS=/tmp/containerd/containerd.sock CONTAINERD_NAMESPACE=book CONTAINERD_SNAPSHOTTER=native
ctr images import --index-name localhost/busybox:latest /tmp/busybox.tar
ctr images ls -q
ctr run --rm --runc-binary /usr/local/bin/bocker localhost/busybox:latest c1 echo hello from bocker
ctr run -d --runc-binary /usr/local/bin/bocker localhost/busybox:latest c2 sleep 1000
ctr task ls
EOF
var SHIM="$(ps -o ppid= -p "$(ctr task ls | awk '$1 == "c2" { print $2 }')" | tr -d ' ')"
cmds <<'EOF'
ps -o pid,ppid,comm --ppid $SHIM -p $SHIM
ls /run/containerd/runc/book/oci
bocker --root /run/containerd/runc/book state c2 | grep -E 'status|bundle'
ctr task pause c2
ctr task ls
ctr task resume c2
ctr task kill -s SIGKILL c2
EOF
# (Until the shim has seen it: `ctr task ls` asks containerd, which asks
# the shim, not bocker.)
for i in $(seq 200); do
    ctr task ls | grep -q '^c2 .*STOPPED' && break
    sleep 0.05
done
cmds <<'EOF'
ctr task ls
ctr task rm c2
ctr containers rm c2
kill %1
EOF
wait "$containerd_pid" 2>/dev/null || true
containerd_pid=""

unset CONTAINERS_CONF CONTAINERS_STORAGE_CONF
out end
cmds <<'EOF'
rm -r /tmp/book-ch10 /tmp/bb10 /tmp/oci /tmp/work /tmp/c1 /tmp/c1.log /tmp/busybox.tar /tmp/podman /tmp/containerd
EOF
