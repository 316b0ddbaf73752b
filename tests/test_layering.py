"""The frame: which package may import which, and one name per thing.

``ccs`` is the composition root (settings, create_app, the CLI): it imports everything and nothing
imports it. ``state`` is the bottom (the domain model, PostgreSQL, Redis). A new module that
breaks a rule fails here with the import that broke it.
"""
from __future__ import annotations

import ast
import collections
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("ccs", "cti", "ivr", "speech", "agent_api", "state", "campaigns", "features")

# package -> packages it must not import
FORBIDDEN = {
    "state": {"ccs", "cti", "ivr", "agent_api", "campaigns", "features", "speech"},
    "speech": {"ccs", "ivr", "cti", "agent_api", "features", "campaigns"},
    "cti": {"ccs", "agent_api", "ivr", "features", "campaigns"},
    "ivr": {"ccs", "agent_api", "features", "campaigns"},
    "agent_api": {"ccs", "features", "campaigns"},
    "features": {"ccs"},
    "campaigns": {"ccs"},
}


def _modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _imported_packages(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_when_packages_import_each_other_then_every_arrow_points_down():
    wrong = []
    for package, forbidden in FORBIDDEN.items():
        if not (ROOT / package).is_dir():
            continue
        for path, tree in _modules(package):
            for bad in sorted(_imported_packages(tree) & forbidden):
                wrong.append(f"{path.relative_to(ROOT)} imports {bad}")
    assert wrong == []


def test_when_the_server_is_assembled_then_one_module_builds_the_application():
    builders = [str(path.relative_to(ROOT)) for package in PRODUCT if (ROOT / package).is_dir()
                for path, _ in _modules(package) if "web.Application(" in path.read_text()]
    assert builders == ["ccs/app.py"]


def test_when_classes_and_modules_are_named_then_no_two_things_share_a_name():
    """Two ``Account`` classes or two ``keys.py`` make a reader guess which one is meant.
    The per-package ``settings.py`` / ``errors.py`` sections are one convention, not two things."""
    classes: dict[str, list[str]] = collections.defaultdict(list)
    modules: dict[str, list[str]] = collections.defaultdict(list)
    for package in PRODUCT:
        if not (ROOT / package).is_dir():
            continue
        for path, tree in _modules(package):
            where = str(path.relative_to(ROOT))
            modules[path.name].append(where)
            for node in tree.body:
                if isinstance(node, ast.ClassDef):
                    classes[node.name].append(where)
    assert {n: w for n, w in classes.items() if len(w) > 1} == {}
    for name in ("keys.py", "pbx.py", "app_keys.py", "redis_keys.py"):
        assert len(modules.get(name, [])) <= 1, (name, modules[name])
