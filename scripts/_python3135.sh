#!/usr/bin/env bash
# Prints the path of a Python 3.13 new enough for the newest Home Assistant (>= 3.13.2; Home
# Assistant from 2025.5 on refuses older ones). Everything else goes to stderr.
#
# In order:
#   1. $WCC_PYTHON_NEWEST, if set (must be a Python >= 3.13.2, < 3.14);
#   2. the cached build in $WCC_PYTHON_CACHE
#      (default ${XDG_CACHE_HOME:-$HOME/.cache}/webasto-chargeconnect/python-3.13.5);
#   3. a python3.13 on PATH that is already >= 3.13.2;
#   4. otherwise builds CPython 3.13.5 once into that cache from the source of Debian's
#      python3.13 package of the trixie release: adds a deb-src entry for trixie that reuses the
#      URI of this machine's own Debian entry (its own file under /etc/apt/sources.list.d/),
#      apt-get update, installs the build dependencies, apt-get source --download-only, then the
#      plain upstream tarball: ./configure --prefix=CACHE && make && make install (~4 min on 2 cores).
# Needs root (or password-less sudo) only for step 4's apt-get.
set -euo pipefail

WANT_VERSION="3.13.5"
CACHE="${WCC_PYTHON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/webasto-chargeconnect/python-$WANT_VERSION}"
SRC_FILE="/etc/apt/sources.list.d/webasto-chargeconnect-trixie-src.sources"
# Modules Home Assistant and its test stack need; a build without their headers silently skips them.
CHECK_MODULES="ssl, sqlite3, lzma, bz2, ctypes, zlib, _decimal, hashlib, uuid, readline, venv, ensurepip"

say() { echo "[python $WANT_VERSION] $*" >&2; }
die() {
    echo "[python $WANT_VERSION] error: $*" >&2
    exit 1
}

# A usable interpreter: 3.13.x with x >= 2, and the modules above.
usable() {
    [ -x "$1" ] && "$1" - <<EOF >/dev/null 2>&1
import sys
assert sys.version_info[:2] == (3, 13) and sys.version_info >= (3, 13, 2), sys.version
import $CHECK_MODULES
EOF
}

if [ -n "${WCC_PYTHON_NEWEST:-}" ]; then
    usable "$WCC_PYTHON_NEWEST" \
        || die "WCC_PYTHON_NEWEST=$WCC_PYTHON_NEWEST is not a working Python 3.13.2 or newer 3.13.x"
    echo "$WCC_PYTHON_NEWEST"
    exit 0
fi
if [ -f "$CACHE/.complete" ] && usable "$CACHE/bin/python3.13"; then
    echo "$CACHE/bin/python3.13"
    exit 0
fi
if command -v python3.13 >/dev/null 2>&1 && usable "$(command -v python3.13)"; then
    command -v python3.13
    exit 0
fi

# --- Build it. -------------------------------------------------------------------------------
say "not found: building it once into $CACHE (about 4 minutes on 2 cores, plus downloads)"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    die "building Python needs apt-get as root (or password-less sudo). Alternatively install a
       Python >= 3.13.2 (3.13.x) yourself and set WCC_PYTHON_NEWEST=/path/to/python3.13."
fi
command -v apt-get >/dev/null 2>&1 \
    || die "apt-get not found: this build path needs Debian. Set WCC_PYTHON_NEWEST=/path/to/python3.13 (>= 3.13.2)."
# shellcheck disable=SC1091
CODENAME="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[ -n "$CODENAME" ] || die "no VERSION_CODENAME in /etc/os-release: cannot find this machine's Debian entry"

# This machine's Debian archive entry: the first enabled binary entry whose suites include the
# release's own codename (so not -security, not a third-party repository). Prints "URI<TAB>KEYRING".
debian_entry() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v codename="$CODENAME" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && enabled != "no" && uri != "" \
                    && (" " suites " ") ~ (" " codename " ")) {
                    print uri "\t" signed
                    found = 1
                    exit
                }
                types = ""; uri = ""; suites = ""; signed = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                key = tolower($1); sub(/:$/, "", key)
                val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                if (key == "types") types = val
                else if (key == "uris") { split(val, u, /[ \t]+/); uri = u[1] }
                else if (key == "suites") suites = val
                else if (key == "signed-by" && val ~ /^\//) signed = val
                else if (key == "enabled") enabled = tolower(val)
            }
            END { if (!found) flush() }
        ' "$f" | head -n 1
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # One-line format: deb [options] URI SUITE COMPONENT...
        awk -v codename="$CODENAME" '
            $1 == "deb" {
                signed = ""; i = 2
                if ($2 ~ /^\[/) {
                    while (i <= NF) {
                        if ($i ~ /signed-by=/) { s = $i; sub(/.*signed-by=/, "", s); sub(/\]$/, "", s); signed = s }
                        if ($i ~ /\]$/) { i++; break }
                        i++
                    }
                }
                if ($(i + 1) == codename) { print $i "\t" signed; exit }
            }
        ' "$f"
    done
}

if [ ! -f "$SRC_FILE" ]; then
    ENTRY="$(debian_entry | head -n 1)"
    [ -n "$ENTRY" ] || die "no Debian entry for '$CODENAME' found in /etc/apt/sources.list{,.d}: cannot
       derive a deb-src entry for trixie. Set WCC_PYTHON_NEWEST=/path/to/python3.13 (>= 3.13.2)."
    URI="${ENTRY%%$'\t'*}"
    KEYRING="${ENTRY#*$'\t'}"
    say "adding $SRC_FILE (deb-src, trixie main, same archive as this machine's '$CODENAME' entry)"
    {
        echo "# Added by webasto-chargeconnect scripts/_python3135.sh: Debian trixie source packages"
        echo "# only (no binaries), to build Python $WANT_VERSION for the newest Home Assistant."
        echo "Types: deb-src"
        echo "URIs: $URI"
        echo "Suites: trixie"
        echo "Components: main"
        if [ -n "$KEYRING" ]; then echo "Signed-By: $KEYRING"; fi
    } | "${SUDO[@]}" tee "$SRC_FILE" >/dev/null
fi

say "apt-get update"
"${SUDO[@]}" apt-get update -qq >&2 || die "apt-get update failed"

# The source version: trixie's python3.13 (3.13.5-2 when this was written). Prefer $WANT_VERSION;
# accept any 3.13.x >= 3.13.2 should the archive have moved on.
VERSIONS="$(apt-cache showsrc python3.13 2>/dev/null | awk '$1 == "Version:" {print $2}' | sort -Vr)"
DEB_VERSION="$(echo "$VERSIONS" | grep -m1 "^$WANT_VERSION-" || true)"
if [ -z "$DEB_VERSION" ]; then
    DEB_VERSION="$(echo "$VERSIONS" | grep -m1 -E '^3\.13\.([2-9]|[1-9][0-9])-' || true)"
    [ -n "$DEB_VERSION" ] || die "apt-cache showsrc python3.13 lists no 3.13.x >= 3.13.2 (found: ${VERSIONS:-none})"
    say "note: $WANT_VERSION is gone from the archive; building ${DEB_VERSION%%-*} instead"
fi
say "source package python3.13 $DEB_VERSION"

# Build dependencies (the usual CPython list). Only the missing ones: apt-get install would also
# upgrade installed ones.
MISSING=()
for pkg in build-essential pkg-config xz-utils libssl-dev libsqlite3-dev liblzma-dev libbz2-dev \
    libffi-dev zlib1g-dev libreadline-dev libncurses-dev uuid-dev libgdbm-dev libexpat1-dev tk-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || MISSING+=("$pkg")
done
if [ "${#MISSING[@]}" -gt 0 ]; then
    say "installing build dependencies: ${MISSING[*]}"
    APT_LOG="$(mktemp)"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${MISSING[@]}" >"$APT_LOG" 2>&1 || {
        tail -n 30 "$APT_LOG" >&2
        die "installing the build dependencies failed"
    }
    rm -f "$APT_LOG"
fi

mkdir -p "$(dirname "$CACHE")"
exec 9>"$CACHE.lock"
flock 9 # Another run building the same cache: wait for it, then reuse its result.
if [ -f "$CACHE/.complete" ] && usable "$CACHE/bin/python3.13"; then
    echo "$CACHE/bin/python3.13"
    exit 0
fi
BUILD="$(mktemp -d "$(dirname "$CACHE")/build.XXXXXX")"
trap 'rm -rf "$BUILD"' EXIT
cd "$BUILD"
say "apt-get source --download-only python3.13=$DEB_VERSION"
# apt verifies the files against the signed Sources index. As root it warns that the download is
# unsandboxed; harmless. The build uses the pristine upstream tarball (no Debian patches, which
# change install layouts for the system Python).
apt-get source -qq --download-only "python3.13=$DEB_VERSION" >&2 || die "apt-get source failed"
ORIGS=(python3.13_*.orig.tar.*)
[ -f "${ORIGS[0]}" ] || die "no upstream tarball (python3.13_*.orig.tar.*) in the source package"
ORIG="${ORIGS[0]}"
tar -xf "$ORIG"
SRC_DIR="$(find . -mindepth 1 -maxdepth 1 -type d -name 'Python-*' | head -n 1)"
[ -n "$SRC_DIR" ] || die "$ORIG holds no Python-* folder"
cd "$SRC_DIR"

rm -rf "$CACHE"
JOBS="$(nproc 2>/dev/null || echo 2)"
START=$SECONDS
say "configure (log: $BUILD/build.log)"
./configure --prefix="$CACHE" >"$BUILD/build.log" 2>&1 || {
    tail -n 40 "$BUILD/build.log" >&2
    trap - EXIT
    die "configure failed; log kept in $BUILD/build.log"
}
say "make -j$JOBS"
make -j"$JOBS" >>"$BUILD/build.log" 2>&1 || {
    tail -n 40 "$BUILD/build.log" >&2
    trap - EXIT
    die "make failed; log kept in $BUILD/build.log"
}
say "make install"
make install >>"$BUILD/build.log" 2>&1 || {
    tail -n 40 "$BUILD/build.log" >&2
    trap - EXIT
    die "make install failed; log kept in $BUILD/build.log"
}
if ! usable "$CACHE/bin/python3.13"; then
    "$CACHE/bin/python3.13" -c "import $CHECK_MODULES" >&2 || true
    grep -A 20 'necessary bits to build these optional modules were not found' "$BUILD/build.log" >&2 || true
    die "the build in $CACHE lacks a module Home Assistant needs (see above)"
fi
"$CACHE/bin/python3.13" -c 'import sys; print(sys.version)' >"$CACHE/.complete"
say "built $("$CACHE/bin/python3.13" -V 2>&1) in $((SECONDS - START)) s: $CACHE"
echo "$CACHE/bin/python3.13"
