#!/bin/sh
# Build (once) a Debian 13 root holding GIMP 3.0 with Python plug-in support, for the
# end-to-end tests. Debian 12 has no GIMP 3, so the tests run GIMP from this root.
#
# Usage: build_root.sh [DIR]   (default: $XDG_CACHE_HOME/gimp-neural-style-tests/trixie-root)
#
# The root is cached outside the checkout and reused: a finished root carries a marker
# file, and a build that was interrupted is thrown away and started again, so the script
# can always simply be run again.
set -eu

ROOT="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/gimp-neural-style-tests/trixie-root}"
MARKER="$ROOT/.neural-style-root-complete"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# GIMP with Python plug-ins; Xvfb, xdotool and ImageMagick's import for the GUI tests.
PACKAGES="gimp python3-gi gir1.2-gimp-3.0 xvfb xdotool imagemagick"

install_packages() {
    # $1: the root. A private mount namespace gives apt its /proc and drops it on exit.
    unshare --mount --propagation private sh -c "
        mount -t proc proc '$1/proc' &&
        chroot '$1' sh -c 'apt-get update -qq &&
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
echo "Building the Debian 13 root in $BUILD (a few minutes, once)"
debootstrap --variant=minbase trixie "$BUILD" "$MIRROR" >"$BUILD.log" 2>&1 || {
    tail -20 "$BUILD.log"
    exit 1
}
install_packages "$BUILD" >>"$BUILD.log" 2>&1 || {
    tail -20 "$BUILD.log"
    exit 1
}
chroot "$BUILD" gimp-console-3.0 --version
echo "$PACKAGES" >"$BUILD/.neural-style-root-complete"
rm -rf "$ROOT"
mv "$BUILD" "$ROOT"
rm -f "$BUILD.log"
echo "GIMP test root ready: $ROOT"
