"""The layout keeps its promises: the core knows no engine and no plugin, no
plugin asks which scheduler is configured, and no module grows past a sitting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = sorted((ROOT / "nap_core").rglob("*.py"))
PLUGINS = sorted((ROOT / "plugins").rglob("*.py"))
#: Names the core must never import: the docker SDK and every bundled plugin.
FORBIDDEN_IN_CORE = re.compile(
    r"import docker|from docker|nap_(gitshell|dockerfile|local|swarm|fleet|registry|docker)\b"
)


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_imports_no_engine_and_no_plugin(path: Path) -> None:
    found = [line for line in path.read_text().splitlines() if FORBIDDEN_IN_CORE.search(line)]
    assert found == []


@pytest.mark.parametrize("path", PLUGINS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_plugin_asks_which_scheduler_is_configured(path: Path) -> None:
    assert not re.search(r"scheduler (==|!=)", path.read_text())


@pytest.mark.parametrize("path", CORE + PLUGINS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_300_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 300


def test_the_deploy_story_is_told_in_at_most_100_lines() -> None:
    assert len((ROOT / "nap_core" / "pipeline.py").read_text().splitlines()) <= 100
