# Sourced by scripts/install-deps.sh and scripts/v2-guest.sh.
# install_missing PACKAGE...: install, with Debian's apt-get, those of the
# packages named that are not installed yet (nothing to do: no apt-get at
# all, so a machine that has everything needs no network).
install_missing() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "${0##*/}: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}
