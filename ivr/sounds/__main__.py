"""``python -m ivr.sounds``: make (or bring up to date) the recordings Asterisk plays."""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from ivr.sounds.build import CORE_SOUNDS, DEFAULT_TARGET, BuildError, Sources, build
from ivr.sounds.manifest import ManifestError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ivr.sounds", description=__doc__)
    parser.add_argument("--target", type=Path, default=DEFAULT_TARGET,
                        help="folder to write (docker-compose.yml mounts its ccs/ into Asterisk)")
    parser.add_argument("--core-sounds", type=Path, default=CORE_SOUNDS,
                        help="Debian's Asterisk core sounds (asterisk-core-sounds-*-gsm)")
    parser.add_argument("--no-core-sounds", action="store_true",
                        help="speak every word with text-to-speech")
    parser.add_argument("--override", type=Path, default=None,
                        help="a folder of studio recordings with the same names "
                             "(ccs/ru/welcome.wav ...): they replace the generated ones")
    args = parser.parse_args(argv)
    sources = Sources(core=None if args.no_core_sounds else args.core_sounds,
                      override=args.override)
    started = time.monotonic()
    try:
        report = asyncio.run(build(args.target, sources=sources))
    except (BuildError, ManifestError) as exc:
        print(f"sounds: {exc}", file=sys.stderr)
        return 2
    print(f"sounds: {report.summary()} in {args.target} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
