"""Dependencies point down: the layering DESIGN.md draws, checked on every import statement.

`kyb -> {apiserver, scheduler, controllers, kubelet, netproxy} -> client`, `kubelet -> cri`,
`runtime -> cri`; library packages never import `kyb`, and `runtime` knows nothing of the
control plane.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cri", "runtime", "client", "apiserver", "scheduler", "controllers", "kubelet", "netproxy", "kyb")

ALLOWED: dict[str, set[str]] = {
    "cri": set(),
    "runtime": {"cri"},
    "client": set(),
    "apiserver": {"client"},
    "scheduler": {"client"},
    "controllers": {"client"},
    "kubelet": {"client", "cri"},
    "netproxy": {"client"},
    "kyb": set(PACKAGES),
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = {}
    for path in _sources(package):
        bad = _imported_packages(path) - ALLOWED[package] - {package}
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom apiserver.storage import x\nimport kyb.main\n")
    assert _imported_packages(sample) == {"apiserver", "kyb"}
