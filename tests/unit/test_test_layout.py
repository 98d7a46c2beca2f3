"""Test modules have unique basenames.

The test folders are not packages, so pytest imports every test module (and every helper module
beside it) by its basename: two `test_pod_network.py` in different folders make the second one
fail to collect with "import file mismatch".
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_and_helper_module_basenames_are_unique() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if path.name in ("__init__.py", "conftest.py") or (path.parent / "__init__.py").exists():
            continue
        seen[path.name].append(str(path.relative_to(TESTS)))
    duplicates = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not duplicates, f"rename one of each: {duplicates}"
