# Chapter 7's session: the commands of its pages, in their order, as
# a student types them in the root shell that chapter 0 opens. The lines
# given to `cmds` are shown, with what they print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 7`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.

# Not shown: the shell as chapter 6 left it (no BOCKER_STORAGE: images on
# btrfs), and the bridge that chapter 5 left on the stand-in host.
export BOCKER_ROOT=/tmp/book-ch6
unset BOCKER_STORAGE BOCKER_BRIDGE
chapter5_bridge stage6

# "Where we start": the stage 6 build has no `pull`.
use stage6
out stage6
cmds <<'EOF'
export BOCKER_ROOT=/tmp/book-ch7
bocker pull busybox latest
EOF
# An image of our own, made with umoci from the busybox files: a layer
# of busybox, a layer that adds /bin/hello and deletes /etc/os-release
# (a whiteout), and a config (Entrypoint, Cmd, Env, WorkingDir, User).
out image
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
out registry
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
out http
cmds <<'EOF'
curl -si http://localhost:5007/v2/; echo
curl -si http://localhost:5007/v2/hello/manifests/latest
curl -s -D - -o /tmp/manifest.json -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://localhost:5007/v2/hello/manifests/latest
jq . /tmp/manifest.json
sha256sum /tmp/manifest.json
EOF
out blobs
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
out todo
{ BOCKER_STORAGE=copy BOCKER_ROOT=/tmp/scratch7 bocker pull localhost:5007/hello 2>&1 || true; } \
    | todo_line

# The "Try it" sections, in the page's order.
use stage7
out pull
cmds <<'EOF'
bocker pull localhost:5007/hello
bocker images --digests
grep bocker/ /tmp/registry/log | cut -d'"' -f2
ls /tmp/book-ch7/blobs/sha256
EOF
var IMG7="$(last_id img)"
out run
cmds <<'EOF'
bocker run localhost:5007/hello
bocker run localhost:5007/hello students
bocker run -e GREETING=Bonjour localhost:5007/hello
bocker ps
ls /tmp/book-ch7/btrfs/images/$IMG7/rootfs/etc
cat /tmp/book-ch7/btrfs/images/$IMG7/image.json
EOF
out share
cmds <<'EOF'
umoci config --image /tmp/oci:hello --tag bonjour --config.env GREETING=Bonjour
skopeo copy oci:/tmp/oci:bonjour docker://localhost:5007/hello:bonjour --dest-tls-verify=false
bocker pull localhost:5007/hello:bonjour
bocker run localhost:5007/hello:bonjour
bocker images --digests
EOF
out end
cmds <<'EOF'
bocker system reset --force
kill %1
EOF
wait "$registry_pid" 2>/dev/null || true
registry_pid=""
cmds <<'EOF'
rm -r /tmp/registry /tmp/oci /tmp/bundle /tmp/bb7 /tmp/manifest.json /tmp/book-ch7
EOF
