#!/bin/sh
# Build (once) a Debian root holding GIMP 3 with Python plug-in support, for the end-to-end
# tests: Debian 13 ("trixie") has GIMP 3.0, Debian unstable ("sid") GIMP 3.2. Debian 12 has
# no GIMP 3, so the tests run GIMP from these roots.
#
# Usage: build_root.sh SUITE [DIR]
#   SUITE: trixie or sid; DIR defaults to $XDG_CACHE_HOME/gimp-neural-style-tests/SUITE-root
#
# A root is cached outside the checkout and reused: a finished root carries a marker file,
# and a build that was interrupted is thrown away and started again, so the script can
# always simply be run again.
set -eu

SUITE="${1:?usage: build_root.sh trixie|sid [DIR]}"
case "$SUITE" in
    trixie | sid) ;;
    *) echo "unknown suite $SUITE (trixie or sid)"; exit 2 ;;
esac
ROOT="${2:-${XDG_CACHE_HOME:-$HOME/.cache}/gimp-neural-style-tests/$SUITE-root}"
MARKER="$ROOT/.neural-style-root-complete"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# GIMP with Python plug-ins; Xvfb, xdotool and ImageMagick's import for the GUI tests; ssh for
# the plug-in's runs on a remote engine.
PACKAGES="gimp python3-gi gir1.2-gimp-3.0 xvfb xauth xdotool imagemagick openssh-client"

install_packages() {
    # $1: the root. A private mount namespace gives apt its /proc and drops it on exit.
    # Unstable's Release file expires within days, and a mirror (or a registry proxy) may
    # serve one a few weeks old: its signature is still checked, only not its expiry date.
    unshare --mount --propagation private sh -c "
        mount -t proc proc '$1/proc' &&
        chroot '$1' sh -c 'apt-get -o Acquire::Check-Valid-Until=false update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES &&
            apt-get clean'
    "
}

if [ -f "$MARKER" ]; then
    if [ "$(cat "$MARKER")" != "$PACKAGES" ]; then
        echo "Adding packages to the GIMP test root: $PACKAGES"
        install_packages "$ROOT" >"$ROOT.log" 2>&1 || { tail -20 "$ROOT.log"; exit 1; }
        rm -f "$ROOT.log"
        echo "$PACKAGES" >"$MARKER"
    fi
    echo "GIMP test root ready: $ROOT"
    exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "debootstrap is missing; installing it (apt-get install debootstrap)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

BUILD="$ROOT.partial"
rm -rf "$BUILD"
mkdir -p "$(dirname "$ROOT")"
echo "Building the Debian $SUITE root in $BUILD (a few minutes, once)"
debootstrap --variant=minbase "$SUITE" "$BUILD" "$MIRROR" >"$BUILD.log" 2>&1 || {
    tail -20 "$BUILD.log"
    exit 1
}
install_packages "$BUILD" >>"$BUILD.log" 2>&1 || {
    tail -20 "$BUILD.log"
    exit 1
}
# Each GIMP series names its binaries after itself (gimp-console-3.0, gimp-console-3.2).
chroot "$BUILD" sh -c 'ls /usr/bin/gimp-console-3.* && /usr/bin/gimp-console-3.* --version'
echo "$PACKAGES" >"$BUILD/.neural-style-root-complete"
rm -rf "$ROOT"
mv "$BUILD" "$ROOT"
rm -f "$BUILD.log"
echo "GIMP test root ready: $ROOT"
