# Chapter 6's session: the commands of its pages, in their order, as
# a student types them in the root shell that chapter 0 opens. The lines
# given to `cmds` are shown, with what they print; the rest is not.
# Sourced by scripts/lib/transcript-session.sh (its helpers: out, use,
# cmds, var, last_id, the wait_* functions); `cargo xtask transcripts 6`
# runs it, alone, from a fresh /tmp and a fresh stand-in host.

# Not shown: the shell as chapter 5 left it, and the bridge it left on the
# stand-in host (bocker0, made by /tmp/book-ch5: another state folder's,
# which `system reset` here leaves alone).
export BOCKER_ROOT=/tmp/book-ch5 BOCKER_STORAGE=copy
unset BOCKER_BRIDGE
chapter5_bridge stage5
home=$PWD # the strace session `cd`s; come back afterwards

# "Where we start": the stage 5 build, with a state folder of its own
# (/tmp/copies): the chapter's own, /tmp/book-ch6, must start empty, or
# chapter 6's bocker would keep making copies in it.
use stage5
out stage5
cmds <<'EOF'
export BOCKER_ROOT=/tmp/copies
scripts/make-busybox-rootfs.sh /tmp/bb6
cp -a /tmp/bb6 /tmp/big6
head -c 200M /dev/urandom > /tmp/big6/root/data
mkdir /tmp/big6/root/many
seq -f /tmp/big6/root/many/f%.0f 20000 | xargs touch
bocker init /tmp/big6
EOF
var BIGC="$(last_id img)"
sync
cmds <<'EOF'
time bocker run $BIGC true
time bocker run $BIGC true
du -sh /tmp/copies/images/* /tmp/copies/containers/*
bocker commit
EOF

# A btrfs by hand, as Bocker's Vagrantfile made one (one loop device,
# freed by the umount at the end).
out by-hand
cmds <<'EOF'
truncate -s 1G /tmp/play.img
mkfs.btrfs -q /tmp/play.img
mkdir /tmp/play
mount /tmp/play.img /tmp/play
losetup -l -O NAME,AUTOCLEAR,BACK-FILE -j /tmp/play.img
btrfs subvolume create /tmp/play/base
head -c 100M /dev/urandom > /tmp/play/base/data
echo hello > /tmp/play/base/note
btrfs subvolume snapshot /tmp/play/base /tmp/play/snap
stat -c '%i %n' /tmp/play /tmp/play/base /tmp/play/snap /tmp/play/base/note /tmp/play/snap/note
sync; btrfs filesystem du -s /tmp/play/base /tmp/play/snap
EOF
out cow
cmds <<'EOF'
echo changed > /tmp/play/snap/note
dd if=/dev/urandom of=/tmp/play/snap/data bs=1M seek=50 count=1 conv=notrunc status=none
cat /tmp/play/base/note /tmp/play/snap/note
sync; btrfs filesystem du -s /tmp/play/base /tmp/play/snap
btrfs subvolume list /tmp/play
EOF
out strace
cmds <<'EOF'
strace -qq -e trace=ioctl btrfs subvolume create /tmp/play/empty
strace -qq -e trace=ioctl btrfs subvolume snapshot -r /tmp/play/base /tmp/play/frozen
touch /tmp/play/frozen/x
strace -qq -e trace=ioctl btrfs subvolume delete /tmp/play/frozen 2>&1 | grep -v -e TREE_SEARCH -e INO_LOOKUP
stat -f -c '%t %T' /tmp/play/base
EOF
out play-end
cmds <<'EOF'
umount /tmp/play
losetup -l -j /tmp/play.img
rm -r /tmp/play /tmp/play.img
EOF

# The first todo!() of chapter 6, as the untouched exercise reports it:
# `init` makes the btrfs file, then calls create_subvolume. The file is
# reset at once (one loop device at a time).
use stage6-todo
out todo
{ BOCKER_STORAGE=btrfs BOCKER_ROOT=/tmp/scratch6 bocker init /tmp/bb6 2>&1 || true; } \
    | todo_line
BOCKER_ROOT=/tmp/scratch6 bocker system reset --force >/dev/null

# The "Try it" sections, in the page's order. A student's shell has no
# BOCKER_STORAGE (or unsets the one of chapter 0).
use stage6
out loop
cmds <<'EOF'
unset BOCKER_STORAGE
export BOCKER_ROOT=/tmp/book-ch6
bocker init /tmp/bb6
EOF
var IMG6="$(last_id img)"
cmds <<'EOF'
bocker init /tmp/big6
EOF
var BIG6="$(last_id img)"
cmds <<'EOF'
ls -lh /tmp/book-ch6
du -h /tmp/book-ch6/btrfs.img
findmnt /tmp/book-ch6/btrfs
losetup -l -O NAME,AUTOCLEAR,BACK-FILE -j /tmp/book-ch6/btrfs.img
btrfs subvolume list /tmp/book-ch6/btrfs
EOF
out container
cmds <<'EOF'
bocker run -d --name box $IMG6 sleep 1000
EOF
var BOX="$(last_id ps)"
cmds <<'EOF'
btrfs subvolume list /tmp/book-ch6/btrfs
btrfs subvolume show /tmp/book-ch6/btrfs/images/$IMG6/rootfs
btrfs subvolume show /tmp/book-ch6/btrfs/containers/$BOX/rootfs
touch /tmp/book-ch6/btrfs/images/$IMG6/rootfs/root/x
EOF
# strace starts a program by its path, and `bocker` is the student's
# alias for target/debug/bocker in the repository: here, a folder
# whose target/debug/bocker is this build.
mkdir -p "$work/repo6/target/debug"
ln -sf "$bocker_bin" "$work/repo6/target/debug/bocker"
cd "$work/repo6"
cmds <<'EOF'
strace -f -qq -e trace=ioctl target/debug/bocker run --rm $IMG6 true 2>&1 | grep BTRFS
EOF
cd "$home"
out writes
cmds <<'EOF'
bocker exec box sh -c 'echo hello > /root/note; echo "eve:x:1000:1000::/home/eve:/bin/sh" >> /etc/passwd; rm /etc/group'
ls /tmp/book-ch6/btrfs/containers/$BOX/rootfs/root /tmp/book-ch6/btrfs/images/$IMG6/rootfs/root
bocker run $IMG6 'ls /root; tail -n 1 /etc/passwd; ls /etc/group'
bocker diff box
bocker run --name fresh $IMG6 true
bocker diff fresh
EOF
out commit
cmds <<'EOF'
bocker run $IMG6 which greet; echo "exit code: $?"
bocker run --name installer $IMG6 'mkdir -p /usr/local/bin && printf "#!/bin/sh\necho hello from greet\n" > /usr/local/bin/greet && chmod +x /usr/local/bin/greet'
bocker diff installer
bocker commit installer $IMG6
bocker run $IMG6 'which greet && greet'
btrfs subvolume show /tmp/book-ch6/btrfs/images/$IMG6/rootfs | grep -e UUID -e Flags
btrfs subvolume show /tmp/book-ch6/btrfs/containers/$(cat /tmp/book-ch6/names/installer)/rootfs | grep -e UUID -e Flags
bocker commit box
EOF
var NEW6="$(last_id img)"
cmds <<'EOF'
bocker images
bocker run $NEW6 'cat /root/note; ls /etc/group'
EOF
sync
out measure
cmds <<'EOF'
time cp -a --reflink=never /tmp/book-ch6/btrfs/images/$BIG6/rootfs /tmp/book-ch6/btrfs/copy
time btrfs subvolume snapshot /tmp/book-ch6/btrfs/images/$BIG6/rootfs /tmp/book-ch6/btrfs/snap
sync; btrfs filesystem du -s /tmp/book-ch6/btrfs/images/$BIG6/rootfs /tmp/book-ch6/btrfs/copy /tmp/book-ch6/btrfs/snap
rm -r /tmp/book-ch6/btrfs/copy; btrfs subvolume delete /tmp/book-ch6/btrfs/snap
EOF
sync
cmds <<'EOF'
time bocker run --name snapped $BIG6 true
time BOCKER_STORAGE=copy bocker run --name copied $BIG6 true
EOF
var SNAPPED="$(cat /tmp/book-ch6/names/snapped)"
var COPIED="$(cat /tmp/book-ch6/names/copied)"
cmds <<'EOF'
sync; btrfs filesystem du -s /tmp/book-ch6/btrfs/containers/$SNAPPED/rootfs /tmp/book-ch6/btrfs/containers/$COPIED/rootfs
EOF
out reset
cmds <<'EOF'
bocker system reset
bocker system reset --force
bocker stop -t 0 box
bocker system reset --force
losetup -l -j /tmp/book-ch6/btrfs.img
ls -A /tmp/book-ch6
EOF
# After the reset: while /tmp/book-ch6 had containers on the bridge,
# another state folder could not use it (chapter 5).
out old
cmds <<'EOF'
BOCKER_ROOT=/tmp/copies bocker run --name old $BIGC 'echo x > /root/x'
BOCKER_ROOT=/tmp/copies bocker diff old
BOCKER_ROOT=/tmp/copies bocker system reset --force
rm -r /tmp/copies
EOF
