#!/usr/bin/env bash
# Students who are not root. First a classroom user with no sudo at all
# runs chapters 1 to 3 and 9's tests (which need no root) with a plain
# `cargo test`: all must pass, run by that user. Then a copy of the project
# owned by an ordinary user with passwordless sudo runs one stage's tests
# (the runner re-runs them through sudo), then `cargo clean`. Both must
# work, and nothing in the copy may belong to root afterwards.
#   scripts/as-a-student.sh            (as root; CI runs it)
#
# It makes the users `bocker-student` and `bocker-classroom` if missing. The Rust toolchain
# is root's (under /root, which others cannot enter): inside a private
# mount namespace the toolchain is bind-mounted where the student can read
# it, and the student gets a copy of the crates already downloaded.
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."

student=bocker-student
# The classroom without root: an ordinary user with no sudo at all.
classroom=bocker-classroom
if [ "${1:-}" = "--inside" ]; then
    # Internal: in the private mount namespace.
    home=$2
    classroom_home=$3
    mkdir -p /opt/bocker-rustup
    mount --bind "${RUSTUP_HOME:-$HOME/.rustup}" /opt/bocker-rustup
    mount -o remount,bind,ro /opt/bocker-rustup
    toolchain=$(rustup show active-toolchain 2>/dev/null | cut -d' ' -f1)
    bin=/opt/bocker-rustup/toolchains/$toolchain/bin
    run_as() { # USER HOME COMMAND
        su "$1" -s /bin/bash -c "cd '$2/bocker' && PATH='$bin':/usr/bin:/sbin:/bin CARGO_HOME='$2/.cargo' $3"
    }
    run_as_student() {
        run_as "$student" "$home" "$1"
    }
    # Chapters 1 to 3 and 9 as a user who cannot become root: the runner
    # must not ask sudo, and every test must pass (bocker gives containers
    # a user namespace; chapter 9 maps the user's subordinate ids, which
    # useradd gave them). The test program says which user ran it.
    if run_as "$classroom" "$classroom_home" "sudo -n true" >/dev/null 2>&1; then
        echo "as-a-student: $classroom can use sudo, and should not" >&2
        exit 1
    fi
    echo "as-a-student: cargo test --features stage9,solved1,solved2,solved3,solved9, as $classroom (no sudo)"
    run_as "$classroom" "$classroom_home" "cargo test --quiet --features stage9,solved1,solved2,solved3,solved9" >"$classroom_home/test.log" 2>&1 || true
    cat "$classroom_home/test.log"
    classroom_uid=$(id -u "$classroom")
    if ! grep -Eq '^test result: ok\. [1-9][0-9]* passed; 0 failed' "$classroom_home/test.log" ||
        grep -q '^test result: FAILED' "$classroom_home/test.log" ||
        ! grep -q "^bocker-tests:no-root-needed: the tests run with euid $classroom_uid\$" "$classroom_home/test.log"; then
        echo "as-a-student: chapters 1 to 3 and 9 should pass as $classroom (euid $classroom_uid), without sudo" >&2
        exit 1
    fi
    run_as "$classroom" "$classroom_home" "cargo clean --quiet"
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
for user in "$student" "$classroom"; do
    if ! id "$user" >/dev/null 2>&1; then
        useradd --create-home --shell /bin/bash "$user"
    fi
done
echo "$student ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/bocker-student
chmod 0440 /etc/sudoers.d/bocker-student
rm -f /etc/sudoers.d/bocker-classroom
home=$(getent passwd "$student" | cut -d: -f6)
classroom_home=$(getent passwd "$classroom" | cut -d: -f6)

# A fresh copy of the project and of the downloaded crates, each user's.
for user in "$student" "$classroom"; do
    user_home=$(getent passwd "$user" | cut -d: -f6)
    rm -rf "$user_home/bocker"
    mkdir -p "$user_home/bocker" "$user_home/.cargo"
    git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$user_home/bocker"
    if [ ! -d "$user_home/.cargo/registry" ] && [ -d "${CARGO_HOME:-$HOME/.cargo}/registry" ]; then
        cp -a "${CARGO_HOME:-$HOME/.cargo}/registry" "$user_home/.cargo/"
    fi
    chown -R "$user:" "$user_home/bocker" "$user_home/.cargo"
done

unshare --mount --propagation private "$self" --inside "$home" "$classroom_home"
