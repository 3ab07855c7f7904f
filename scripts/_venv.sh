# shellcheck shell=bash
# Shared by scripts/test, scripts/demo and scripts/bench: find the Python, create the venv,
# install the pinned requirements when they changed. Source it; it sets $VENV_PY.
#
# WCC_HA picks the Home Assistant to run on (scripts/test --ha sets it):
#   2025.4 (default)  .venv         requirements_test.txt         (Home Assistant 2025.4.4 on
#                     Python 3.13, from PATH, $PYTHON313 or pyenv)
#   newest            .venv-newest  requirements_test_newest.txt  (Home Assistant 2026.10.4; needs
#                     Python >= 3.14.2, which scripts/_python314.sh finds or assembles once from
#                     Debian's binary packages; scripts/check_ha_versions tells whether a newer
#                     Home Assistant exists)
#   demo-newest       .venv-demo-newest  requirements_demo_newest.txt  (only scripts/demo and
#                     scripts/screenshots --ha newest: Home Assistant 2026.11.0 itself, without
#                     the test stack; the same Python >= 3.14.2)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WCC_HA="${WCC_HA:-2025.4}"
case "$WCC_HA" in
    2025.4)
        REQUIREMENTS="$ROOT/requirements_test.txt"
        VENV="${WCC_VENV:-$ROOT/.venv}"
        ;;
    newest)
        REQUIREMENTS="$ROOT/requirements_test_newest.txt"
        VENV="${WCC_VENV:-$ROOT/.venv-newest}"
        ;;
    demo-newest)
        REQUIREMENTS="$ROOT/requirements_demo_newest.txt"
        VENV="${WCC_VENV:-$ROOT/.venv-demo-newest}"
        ;;
    *)
        echo "error: WCC_HA (or --ha) must be 2025.4, newest or demo-newest, not '$WCC_HA'" >&2
        exit 2
        ;;
esac
export WCC_HA

find_python313() {
    local candidate
    for candidate in "${PYTHON313:-}" python3.13; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    # pyenv installs that are not the global version: the shim refuses them, the binary works.
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
        if [ -x "$candidate" ] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# The newest Home Assistant (2026.3 on) refuses Python < 3.14.2: a venv made with an older one
# (e.g. the Python 3.13 that older pins of this suite used), or whose Python no longer runs (its
# interpreter was removed or moved), is remade.
if [ "$WCC_HA" != 2025.4 ] && [ -e "$VENV/bin/python" ] \
    && ! "$VENV/bin/python" -c 'import sys; assert sys.version_info >= (3, 14, 2)' 2>/dev/null; then
    echo "Removing $VENV: its Python is older than 3.14.2 (or does not run)"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    if [ "$WCC_HA" != 2025.4 ]; then
        # Prints only the interpreter's path on stdout; exits non-zero with its own message.
        BASE_PY="$(bash "$ROOT/scripts/_python314.sh")"
    elif ! BASE_PY="$(find_python313)"; then
        echo "error: Python 3.13 is required (Home Assistant 2025.4 runs on it), but no python3.13" >&2
        echo "       was found on PATH or under pyenv. Install Python 3.13, or set PYTHON313=/path/to/python3.13." >&2
        exit 1
    fi
    echo "Creating $VENV with $BASE_PY"
    rm -rf "$VENV"
    "$BASE_PY" -m venv "$VENV"
fi
VENV_PY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "Installing $(basename "$REQUIREMENTS") into $VENV"
    INSTALL_START=$SECONDS
    "$VENV_PY" -m pip install --quiet --upgrade pip
    "$VENV_PY" -m pip install --quiet -r "$REQUIREMENTS"
    echo "$WANT" > "$STAMP"
    echo "Installed $(basename "$REQUIREMENTS") in $((SECONDS - INSTALL_START)) s"
fi
export PATH="$VENV/bin:$PATH"
