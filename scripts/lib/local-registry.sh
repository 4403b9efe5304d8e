# Sourced by scripts/demo.sh and scripts/bench-pull.sh (not run by itself).
#
# start_local_registry DIR: start Debian's docker-registry on 127.0.0.1, on
# a free port, storing its blobs under DIR/registry, and wait until it
# answers /v2/. Sets $port and $registry_pid; the caller stops it
# (kill "$registry_pid") in its own cleanup.
start_local_registry() {
    local dir=$1
    while :; do
        port=$((20000 + RANDOM % 20000))
        ss -Htln "sport = :$port" | grep -q . || break
    done
    printf '%s\n' "version: 0.1" "log: {level: error}" \
        "storage: {filesystem: {rootdirectory: $dir/registry}}" \
        "http: {addr: 127.0.0.1:$port}" >"$dir/registry.yml"
    docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 50); do
        curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && return 0
        sleep 0.1
    done
    echo "the local registry did not answer on 127.0.0.1:$port (see $dir/registry.log)" >&2
    return 1
}
