#!/usr/bin/env bash
# A student who is not root: a copy of the project owned by an ordinary
# user with passwordless sudo runs one stage's tests with a plain
# `cargo test` (the runner re-runs them through sudo), then `cargo clean`.
# Both must work, and nothing in the copy may belong to root afterwards.
#   scripts/as-a-student.sh            (as root; CI runs it)
#
# It makes the user `bocker-student` if there is none. The Rust toolchain
# is root's (under /root, which others cannot enter): inside a private
# mount namespace the toolchain is bind-mounted where the student can read
# it, and the student gets a copy of the crates already downloaded.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."

student=bocker-student
if [ "${1:-}" = "--inside" ]; then
    # Internal: in the private mount namespace.
    home=$2
    mkdir -p /opt/bocker-rustup
    mount --bind "${RUSTUP_HOME:-$HOME/.rustup}" /opt/bocker-rustup
    mount -o remount,bind,ro /opt/bocker-rustup
    toolchain=$(rustup show active-toolchain 2>/dev/null | cut -d' ' -f1)
    bin=/opt/bocker-rustup/toolchains/$toolchain/bin
    run_as_student() {
        su "$student" -s /bin/bash -c "cd '$home/bocker' && PATH='$bin':/usr/bin:/bin CARGO_HOME='$home/.cargo' $1"
    }
    # A snapshot that no longer matches, as after a student's change: the
    # test that compares it fails, and insta writes a .snap.new, as root.
    snapshot=tests/course/snapshots/course__stage1_chroot__missing_command.snap
    echo "bocker: an old message" >>"$home/bocker/$snapshot"
    # The book's command for one chapter's tests: a name filter.
    echo "as-a-student: cargo test --features stage1,solved1 stage1_chroot, as $student"
    run_as_student "INSTA_UPDATE=new cargo test --quiet --features stage1,solved1 stage1_chroot" >"$home/test.log" 2>&1 || true
    cat "$home/test.log"
    # Every test of the chapter passes but the one whose snapshot changed
    # (how many there are is the chapter's business, not this script's).
    if ! grep -Eq '^test result: FAILED\. [1-9][0-9]* passed; 1 failed' "$home/test.log" ||
        ! grep -Eq '^    stage1_chroot::a_missing_command_exits_127_with_a_clear_message$' "$home/test.log"; then
        echo "as-a-student: expected the chapter's tests to pass but the changed snapshot's, a_missing_command_exits_127_with_a_clear_message" >&2
        exit 1
    fi
    new_snapshot=$home/bocker/$snapshot.new
    if [ "$(stat -c %U "$new_snapshot" 2>/dev/null)" != "$student" ]; then
        echo "as-a-student: $new_snapshot should exist and belong to $student" >&2
        exit 1
    fi
    root_owned=$(find "$home/bocker" -user 0 | head -n 5)
    if [ -n "$root_owned" ]; then
        echo "as-a-student: files of root were left in the student's project:" >&2
        echo "$root_owned" >&2
        exit 1
    fi
    echo "as-a-student: cargo clean, as $student"
    run_as_student "cargo clean --quiet"
    echo "as-a-student: ok"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    exec sudo -E "$self" "$@"
fi
if ! id "$student" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$student"
fi
echo "$student ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/bocker-student
chmod 0440 /etc/sudoers.d/bocker-student
home=$(getent passwd "$student" | cut -d: -f6)

# A fresh copy of the project and of the downloaded crates, the student's.
rm -rf "$home/bocker"
mkdir -p "$home/bocker" "$home/.cargo"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$home/bocker"
if [ ! -d "$home/.cargo/registry" ] && [ -d "${CARGO_HOME:-$HOME/.cargo}/registry" ]; then
    cp -a "${CARGO_HOME:-$HOME/.cargo}/registry" "$home/.cargo/"
fi
chown -R "$student:" "$home/bocker" "$home/.cargo"

unshare --mount --propagation private "$self" --inside "$home"
