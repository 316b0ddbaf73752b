#!/usr/bin/env bash
# Makes .venv (in the current folder) from the right Python; scripts/bootstrap.sh calls it.
set -euo pipefail

# Debian's own Python (3.11.2 on Debian 12) is what a newcomer has: the venv is built from it
# when it exists, so tests and CI run on it too. PYTHON=/path/to/python overrides.
if [ -n "${PYTHON:-}" ]; then
    PY=$PYTHON
elif [ -x /usr/bin/python3 ]; then
    PY=/usr/bin/python3
else
    PY=python3
fi
base_of() { "$1" -c 'import os, sys; print(os.path.realpath(sys._base_executable))' 2>/dev/null; }
if [ -e .venv ] && [ "$(base_of .venv/bin/python)" != "$(base_of "$PY")" ]; then
    echo "bootstrap: .venv was made from another Python than $PY: making it again"
    rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
