#!/usr/bin/env bash
# Prints the path of a Python 3.14 new enough for the newest Home Assistant (>= 3.14.2; Home
# Assistant from 2026.3 on refuses older ones). That path is the only line on stdout; everything
# else goes to stderr.
#
# In order:
#   1. $WCC_PYTHON_NEWEST, if set (must be a working Python 3.14.x >= 3.14.2, else an error);
#   2. the cached prefix in $WCC_PYTHON_CACHE
#      (default ${XDG_CACHE_HOME:-$HOME/.cache}/webasto-chargeconnect/python-3.14), if it has its
#      .complete stamp and its interpreter works;
#   3. a python3.14 on PATH that is already >= 3.14.2 and works;
#   4. otherwise assembles one into that cache from Debian's *binary* packages of the forky suite
#      (sid as a fallback), without touching the system: a private apt configuration (own sources,
#      lists, cache and an empty dpkg status) downloads python3.14 and all its dependencies, libc6
#      included; they are unpacked with dpkg -x into the prefix and the python3.14 binary is
#      patched to use the prefix's own loader and libraries (~10-20 s; ~45 MB of downloads:
#      ~35 MB of packages, ~10 MB of package index; ~65 MB on disk).
# Needs no root: nothing is installed on the system, and no system apt source is added.
set -euo pipefail

MIN_VERSION="3.14.2"
CACHE="${WCC_PYTHON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/webasto-chargeconnect/python-3.14}"
# The Debian suites to take the packages from, in order of preference.
SUITES=(forky sid)
# The packages to download; apt adds every dependency (the status file it sees is empty).
# python3.14-venv brings ensurepip's pip and setuptools wheels, libpython3.14-dev the headers
# that C extensions compile against, patchelf the tool that rewires the binary below.
PACKAGES=(python3.14 python3.14-venv libpython3.14-dev patchelf)
# Modules Home Assistant and its test stack need.
CHECK_MODULES="ssl, sqlite3, lzma, bz2, ctypes, zlib, _decimal, hashlib, uuid, venv, ensurepip, multiprocessing"

say() { echo "[python 3.14] $*" >&2; }
die() {
    echo "[python 3.14] error: $*" >&2
    exit 1
}
# The first of its arguments (an expanded glob) that exists.
first() {
    local f
    for f in "$@"; do
        if [ -e "$f" ]; then
            echo "$f"
            return 0
        fi
    done
    return 1
}

# A usable interpreter: 3.14.x with x >= 2, and the modules above.
usable() {
    [ -x "$1" ] && "$1" - <<EOF >/dev/null 2>&1
import sys
assert sys.version_info[:2] == (3, 14) and sys.version_info >= (3, 14, 2), sys.version
import $CHECK_MODULES
EOF
}

# --- 1-3: an interpreter that is already there. ---------------------------------------------
if [ -n "${WCC_PYTHON_NEWEST:-}" ]; then
    usable "$WCC_PYTHON_NEWEST" \
        || die "WCC_PYTHON_NEWEST=$WCC_PYTHON_NEWEST is not a working Python $MIN_VERSION or newer 3.14.x
       (it must run and import: $CHECK_MODULES)"
    echo "$WCC_PYTHON_NEWEST"
    exit 0
fi
cached() {
    if [ -f "$CACHE/.complete" ] && usable "$CACHE/bin/python3.14"; then
        echo "$CACHE/bin/python3.14"
        return 0
    fi
    return 1
}
cached && exit 0
if command -v python3.14 >/dev/null 2>&1 && usable "$(command -v python3.14)"; then
    command -v python3.14
    exit 0
fi

# --- 4: assemble it from Debian's binary packages. ------------------------------------------
say "not found: assembling it once into $CACHE from Debian's binary packages (${SUITES[*]})"
for tool in apt-get apt-cache apt-config dpkg dpkg-deb flock; do
    command -v "$tool" >/dev/null 2>&1 \
        || die "$tool not found: this path needs Debian's apt and dpkg. Install a Python >= $MIN_VERSION
       (3.14.x) yourself and set WCC_PYTHON_NEWEST=/path/to/python3.14."
done
# shellcheck disable=SC1091
CODENAME="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[ -n "$CODENAME" ] || die "no VERSION_CODENAME in /etc/os-release: cannot find this machine's Debian entry"
ARCH="$(dpkg --print-architecture)"

# This machine's Debian archive entry: the first enabled binary entry whose suites include the
# release's own codename (so not -security, not a third-party repository). Prints "URI<TAB>KEYRING".
# The private sources below reuse its archive URI and keyring, so no host name lives in the repo.
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
ENTRY="$(debian_entry | head -n 1)"
[ -n "$ENTRY" ] || die "no Debian entry for '$CODENAME' found in /etc/apt/sources.list{,.d}: cannot
       tell which archive to download from. Set WCC_PYTHON_NEWEST=/path/to/python3.14 (>= $MIN_VERSION)."
URI="${ENTRY%%$'\t'*}"
KEYRING="${ENTRY#*$'\t'}"

# One run at a time per cache: a second run waits here, then reuses the first one's result.
mkdir -p "$(dirname "$CACHE")"
exec 9>"$CACHE.lock"
flock 9
cached && exit 0

# Everything is assembled in a temporary folder beside the cache (same file system, so the final
# rename is atomic) and renamed into place once complete.
BUILD="$(mktemp -d "$CACHE.build.XXXXXX")"
trap 'rm -rf "$BUILD"' EXIT
# As root apt downloads as the user _apt, which must be able to reach the private lists and cache.
chmod 755 "$BUILD"
START=$SECONDS

# A private apt: its own configuration, sources, lists, archive cache and dpkg status, all under
# $BUILD/apt. APT_CONFIG replaces /etc/apt/apt.conf, and Dir::Etc points away from /etc/apt, so
# none of the system's sources, pins or hooks (e.g. Post-Invoke cleaners) apply, and nothing the
# system's apt knows changes. The dpkg status file is empty, so apt treats nothing as installed and
# downloads every dependency (a libc6 >= 2.42 among them: forky's python3.14 is built against it).
APT_DIR="$BUILD/apt"
mkdir -p "$APT_DIR"/etc/{apt.conf.d,preferences.d,sources.list.d} "$APT_DIR"/lists/partial \
    "$APT_DIR"/cache/archives/partial
: >"$APT_DIR/status"
{
    echo "Dir::Etc \"$APT_DIR/etc\";"
    echo "Dir::Etc::sourcelist \"$APT_DIR/etc/sources.list\";"
    echo "Dir::Etc::sourceparts \"$APT_DIR/etc/sources.list.d\";"
    echo "Dir::Etc::parts \"$APT_DIR/etc/apt.conf.d\";"
    echo "Dir::Etc::preferencesparts \"$APT_DIR/etc/preferences.d\";"
    # Keys: only needed when the entry has no Signed-By; the system's trusted keys then.
    echo "Dir::Etc::trusted \"/etc/apt/trusted.gpg\";"
    echo "Dir::Etc::trustedparts \"/etc/apt/trusted.gpg.d\";"
    echo "Dir::State \"$APT_DIR/state\";"
    echo "Dir::State::lists \"$APT_DIR/lists\";"
    echo "Dir::State::status \"$APT_DIR/status\";"
    echo "Dir::Cache \"$APT_DIR/cache\";"
    # Only this machine's architecture (not the system dpkg's foreign ones), no translations.
    echo "APT::Architecture \"$ARCH\";"
    echo "APT::Architectures { \"$ARCH\"; };"
    echo "Acquire::Languages \"none\";"
    # Archive mirrors or snapshots can serve suite indexes whose Valid-Until lies in the past (or
    # whose Date lies ahead of this machine's clock): skip those date checks. The signature is
    # still verified.
    echo "Acquire::Check-Valid-Until \"false\";"
    echo "Acquire::Check-Date \"false\";"
    # Keep the system's proxy settings, if it has any.
    apt-config dump 2>/dev/null | grep -E '^Acquire::[^:]+::Proxy' || true
} >"$APT_DIR/apt.conf"
: >"$APT_DIR/etc/sources.list"
export APT_CONFIG="$APT_DIR/apt.conf"

# Per suite: index it, check its python3.14 is new enough, download. The first that works wins.
SUITE=""
for suite in "${SUITES[@]}"; do
    rm -f "$APT_DIR"/lists/*_* "$APT_DIR"/cache/archives/*.deb
    {
        echo "Types: deb"
        echo "URIs: $URI"
        echo "Suites: $suite"
        echo "Components: main"
        if [ -n "$KEYRING" ]; then echo "Signed-By: $KEYRING"; fi
    } >"$APT_DIR/etc/sources.list.d/debian-$suite.sources"
    say "apt-get update ($suite, private lists)"
    if ! apt-get -q update >"$BUILD/apt-update-$suite.log" 2>&1; then
        tail -n 15 "$BUILD/apt-update-$suite.log" >&2
        say "apt-get update of $suite failed"
        rm -f "$APT_DIR/etc/sources.list.d/debian-$suite.sources"
        continue
    fi
    DEB_VERSION="$(apt-cache show --no-all-versions python3.14 2>/dev/null \
        | awk '$1 == "Version:" && v == "" {v = $2} END {print v}' || true)"
    if [ -z "$DEB_VERSION" ] || ! dpkg --compare-versions "${DEB_VERSION#*:}" ge "$MIN_VERSION"; then
        say "$suite has python3.14 ${DEB_VERSION:-(none)}, not >= $MIN_VERSION"
        rm -f "$APT_DIR/etc/sources.list.d/debian-$suite.sources"
        continue
    fi
    say "apt-get --download-only install ${PACKAGES[*]} ($suite: python3.14 $DEB_VERSION)"
    # --no-install-recommends: recommends (perl, manpages, ...) are of no use to an unpacked
    # prefix.
    if ! apt-get -q -y --no-install-recommends --download-only install "${PACKAGES[@]}" \
        >"$BUILD/apt-download-$suite.log" 2>&1; then
        tail -n 20 "$BUILD/apt-download-$suite.log" >&2
        say "downloading from $suite failed"
        rm -f "$APT_DIR/etc/sources.list.d/debian-$suite.sources"
        continue
    fi
    SUITE="$suite"
    break
done
[ -n "$SUITE" ] || die "could not download python3.14 >= $MIN_VERSION from Debian's ${SUITES[*]}
       (archive $URI; see above). Set WCC_PYTHON_NEWEST=/path/to/python3.14 (>= $MIN_VERSION)."
DEBS=("$APT_DIR"/cache/archives/*.deb)
[ -f "${DEBS[0]}" ] || die "apt-get downloaded no .deb files"
# What went over the wire, as apt reports it ("Fetched 35.3 MB in 1s"): index, then packages.
fetched() { sed -n 's/^Fetched \([0-9.,]* [kMG]*B\) .*/\1/p' "$1" | tail -n 1; }
INDEX_FETCHED="$(fetched "$BUILD/apt-update-$SUITE.log")"
DEBS_FETCHED="$(fetched "$BUILD/apt-download-$SUITE.log")"
say "downloaded ${#DEBS[@]} packages (${DEBS_FETCHED:-? MB}; index ${INDEX_FETCHED:-? MB})"

# Unpack every package into the prefix (no maintainer scripts run; dpkg -x just extracts).
PREFIX="$BUILD/prefix"
mkdir -p "$PREFIX"
for deb in "${DEBS[@]}"; do
    dpkg-deb -x "$deb" "$PREFIX" || die "dpkg -x $(basename "$deb") failed"
done
# Forky's packages ship everything under /usr; should one still ship /bin, /lib, ... merge it into
# usr/ (as usrmerge would) so that the root links below can take those names.
for d in bin sbin lib lib64; do
    if [ -d "$PREFIX/$d" ] && [ ! -L "$PREFIX/$d" ]; then
        mkdir -p "$PREFIX/usr/$d"
        cp -a "$PREFIX/$d/." "$PREFIX/usr/$d/"
        rm -rf "${PREFIX:?}/$d"
    fi
done

# The multiarch triplet (x86_64-linux-gnu, aarch64-linux-gnu, ...): where the arch pyconfig.h is.
ARCH_PYCONFIG="$(first "$PREFIX"/usr/include/*/python3.14/pyconfig.h)" \
    || die "libpython3.14-dev shipped no usr/include/<triplet>/python3.14/pyconfig.h"
MULTIARCH="$(basename "$(dirname "$(dirname "$ARCH_PYCONFIG")")")"
LIBDIR="usr/lib/$MULTIARCH"
LOADER="$(first "$PREFIX/$LIBDIR"/ld-linux*.so.*)" || die "libc6 shipped no loader ($LIBDIR/ld-linux*.so.*)"
LOADER_NAME="$(basename "$LOADER")"

# Rewire the python3.14 binary: it was linked against forky's glibc (2.42 or newer), newer than
# this machine's, so it must run under forky's own loader, with forky's libraries. The paths are
# the final ones (the prefix is renamed to $CACHE below), so the binary only works after that.
#  - DT_RPATH (--force-rpath), not DT_RUNPATH: RPATH of the executable also applies to the
#    libraries those libraries need and to the stdlib's extension modules (lib-dynload/*.so:
#    _ssl needs libssl/libcrypto, _sqlite3 libsqlite3, ...), so all of them come from the prefix.
#  - Two separate patchelf calls: one call doing both --set-rpath and --set-interpreter writes
#    a binary that segfaults.
#  - patchelf itself is forky's too, so it runs through the prefix's loader with its libraries.
# Only this binary is rewired: programs it starts (gcc, git, ...) keep the system's libc.
PY_BIN="$PREFIX/usr/bin/python3.14"
PATCHELF=("$PREFIX/$LIBDIR/$LOADER_NAME" --library-path "$PREFIX/$LIBDIR" "$PREFIX/usr/bin/patchelf")
say "patchelf: RPATH and loader of python3.14 -> $CACHE/$LIBDIR"
"${PATCHELF[@]}" --force-rpath --set-rpath "$CACHE/$LIBDIR" "$PY_BIN" \
    || die "patchelf --set-rpath failed"
"${PATCHELF[@]}" --set-interpreter "$CACHE/$LIBDIR/$LOADER_NAME" "$PY_BIN" \
    || die "patchelf --set-interpreter failed"

# ensurepip (hence `python -m venv`) takes pip from the sysconfig variable WHEEL_PKG_DIR, which
# Debian sets to /usr/share/python-wheels: that is the host's folder, with the host's old pip (or
# nothing). Point it at the prefix's wheels (from python3-pip-whl / python3-setuptools-whl).
SYSCONFIG_FILES=()
for f in "$PREFIX"/usr/lib/python3.14/_sysconfigdata_*.py; do
    [ -L "$f" ] || SYSCONFIG_FILES+=("$f") # Debian has one real file and a link to it.
done
[ "${#SYSCONFIG_FILES[@]}" -gt 0 ] || die "no _sysconfigdata_*.py in the prefix"
for f in "${SYSCONFIG_FILES[@]}"; do
    sed -i "s|'WHEEL_PKG_DIR': '[^']*'|'WHEEL_PKG_DIR': '$CACHE/usr/share/python-wheels/'|" "$f"
    grep -qF "'WHEEL_PKG_DIR': '$CACHE/usr/share/python-wheels/'" "$f" \
        || die "could not set WHEEL_PKG_DIR in $(basename "$f")"
done
first "$PREFIX"/usr/share/python-wheels/pip-*.whl >/dev/null || die "python3-pip-whl shipped no pip wheel"

# Debian's include/python3.14/pyconfig.h only dispatches to <TRIPLET/python3.14/pyconfig.h> on the
# compiler's default include path, i.e. the host's /usr/include, which does not have it: put the
# real header in its place so C extensions compile against the prefix's headers alone.
cp -f "$ARCH_PYCONFIG" "$PREFIX/usr/include/python3.14/pyconfig.h"

# sitecustomize.py is a link to /etc/python3.14/sitecustomize.py: the host's (if any), not ours.
rm -f "$PREFIX/usr/lib/python3.14/sitecustomize.py"

# prefix/bin, prefix/lib, prefix/include -> usr/...: run as prefix/bin/python3.14, the interpreter
# finds its standard library as prefix/lib/python3.14, and so does a venv made from it (its
# pyvenv.cfg says home = prefix/bin); without them a venv cannot find the standard library.
for d in bin lib include; do
    ln -sfn "usr/$d" "$PREFIX/$d"
done

# Drop what an interpreter does not need: docs, manuals, static libraries, the C library's and the
# kernel's headers (the host's compiler uses the host's own), and glibc's iconv modules (its
# compiled-in GCONV_PATH is the host's /usr/lib/TRIPLET/gconv, so these are never loaded).
# ~130 MB unpacked -> ~65 MB.
rm -rf "$PREFIX"/usr/share/{doc,doc-base,man,info,lintian,bug,bash-completion,zsh,gdb} \
    "$PREFIX"/usr/lib/linux "$PREFIX"/usr/src "$PREFIX/$LIBDIR/gconv" "${PREFIX:?}/var"
find "$PREFIX/usr/lib" -name '*.a' -type f -delete
find "$PREFIX/usr/include" -mindepth 1 -maxdepth 1 ! -name python3.14 ! -name "$MULTIARCH" -exec rm -rf {} +
find "$PREFIX/usr/include/$MULTIARCH" -mindepth 1 -maxdepth 1 ! -name python3.14 -exec rm -rf {} +

# Into place: the binary's RPATH and loader point there.
rm -rf "$CACHE"
mv "$PREFIX" "$CACHE"
PY="$CACHE/bin/python3.14"

# --- Verify, then stamp. --------------------------------------------------------------------
failed() {
    rm -rf "$CACHE" # No half-working prefix: the next run starts over.
    die "$@"
}
if ! usable "$PY"; then
    "$PY" -c "import sys; print(sys.version); import $CHECK_MODULES" >&2 || true
    failed "the assembled Python in $CACHE does not run or lacks a module (see above)"
fi
# multiprocessing really starting children (they run this same rewired binary).
"$PY" -c '
import multiprocessing as mp
if __name__ == "__main__":
    with mp.get_context("spawn").Pool(2) as pool:
        assert pool.map(abs, [-1, -2]) == [1, 2]
' >&2 || failed "multiprocessing does not work with $PY"
# A venv with the prefix's pip (not the host's wheel), and pip running in it.
"$PY" -m venv "$BUILD/venv" >&2 || failed "$PY -m venv failed"
PIP_VERSION="$("$BUILD/venv/bin/python" -m pip --version)" || failed "pip does not run in a venv made with $PY"
WHEEL_VERSION="$(basename "$(first "$CACHE"/usr/share/python-wheels/pip-*.whl)" | cut -d- -f2)"
case "$PIP_VERSION" in
    "pip $WHEEL_VERSION "*) ;;
    *) failed "the venv got '$PIP_VERSION', not the prefix's pip $WHEEL_VERSION (WHEEL_PKG_DIR)" ;;
esac
# A C extension compiled with the host's compiler against the prefix's headers, then imported.
if command -v gcc >/dev/null 2>&1; then
    mkdir -p "$BUILD/ext"
    cat >"$BUILD/ext/wcc_probe.c" <<'EOF'
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "wcc_probe", NULL, -1, methods};
PyMODINIT_FUNC PyInit_wcc_probe(void) { return PyModule_Create(&module); }
EOF
    INCLUDE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    EXT_SUFFIX="$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
    gcc -shared -fPIC -O1 -I"$INCLUDE" "$BUILD/ext/wcc_probe.c" -o "$BUILD/ext/wcc_probe$EXT_SUFFIX" >&2 \
        || failed "compiling a C extension against $INCLUDE failed"
    (cd "$BUILD/ext" && "$BUILD/venv/bin/python" -c 'import wcc_probe; assert wcc_probe.answer() == 42') >&2 \
        || failed "a C extension compiled against $INCLUDE does not import"
else
    say "note: no gcc here, skipped the C extension check (binary wheels are unaffected)"
fi

DISK_MB="$(du -sm "$CACHE" | cut -f1)"
{
    "$PY" -c 'import sys; print(sys.version)'
    echo "debian python3.14 $DEB_VERSION ($SUITE, $ARCH), ${#DEBS[@]} packages"
} >"$CACHE/.complete" # Last: only a complete, verified prefix has it.
say "assembled $("$PY" -V 2>&1) (Debian $DEB_VERSION from $SUITE) in $((SECONDS - START)) s:" \
    "downloaded ${DEBS_FETCHED:-?} of packages + ${INDEX_FETCHED:-?} of index, ${DISK_MB} MB on disk"
echo "$PY"
