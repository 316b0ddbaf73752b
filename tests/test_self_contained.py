"""The tests and benchmarks read only what is inside the checkout."""
from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import AGI_CAPTURES, CAPTURES, ROOT

# Ways a path climbs out of the checkout: the parent of the root, a sibling folder by name,
# or more `parents[...]` than a file's depth in the tree allows.
_CLIMB = re.compile(r"ROOT\.parent|\.\./shared|[\"']shared[\"']\s*/|/work/shared")
_PARENTS = re.compile(r"parents\[(\d+)\]")


def _sources() -> list[Path]:
    files = list((ROOT / "tests").rglob("*.py")) + list((ROOT / "benchmarks").rglob("*.py"))
    return [f for f in files if "data" not in f.relative_to(ROOT).parts]


def test_when_sources_are_scanned_then_none_climbs_out_of_the_checkout() -> None:
    offenders = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] is the root
        for number, line in enumerate(text.splitlines(), 1):
            if path.name == "test_self_contained.py":
                continue
            if _CLIMB.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
            for match in _PARENTS.finditer(line):
                if int(match.group(1)) > depth:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []


def test_when_captures_are_looked_for_then_they_are_in_the_repository() -> None:
    assert CAPTURES.is_relative_to(ROOT) and AGI_CAPTURES.is_relative_to(ROOT)
    assert len(list((CAPTURES / "asterisk-22-recorded").glob("*.ami.txt"))) >= 10
    assert (CAPTURES / "README.md").is_file() and (AGI_CAPTURES / "README.md").is_file()
    assert len(list(AGI_CAPTURES.glob("*.agi.txt"))) >= 7
