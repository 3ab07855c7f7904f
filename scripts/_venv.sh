# Shared by scripts/test, scripts/demo and scripts/bench: find Python 3.13, create .venv,
# install requirements_test.txt when it changed. Source it; it sets $VENV_PY.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${WCC_VENV:-$ROOT/.venv}"

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

if [ ! -x "$VENV/bin/python" ]; then
    if ! PY313="$(find_python313)"; then
        echo "error: Python 3.13 is required (Home Assistant 2025.4 runs on it), but no python3.13" >&2
        echo "       was found on PATH or under pyenv. Install Python 3.13, or set PYTHON313=/path/to/python3.13." >&2
        exit 1
    fi
    echo "Creating $VENV with $PY313"
    "$PY313" -m venv "$VENV"
fi
VENV_PY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$ROOT/requirements_test.txt" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "Installing requirements_test.txt into $VENV"
    "$VENV_PY" -m pip install --quiet --upgrade pip
    "$VENV_PY" -m pip install --quiet -r "$ROOT/requirements_test.txt"
    echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
