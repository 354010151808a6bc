"""The Python app type's detection, on real git trees (Heroku's rules)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))

from apptypes import new_app

from nap_core.model import App, Tree
from nap_python import plugin


def test_detect_follows_herokus_rules(tmp_path: Path) -> None:
    def detect(files: dict[str, str]) -> str | None:
        app = new_app(tmp_path / f"t{len(list(tmp_path.iterdir()))}", files)
        return plugin.detect(
            App("aone"), Tree(app.path / ".git", app.git("rev-parse", "HEAD").strip())
        )

    for name in ("requirements.txt", "pyproject.toml", "Pipfile"):
        assert detect({name: ""}) == "python", name
    assert detect({"requirements.txt": "", "Dockerfile": "FROM scratch"}) is None
    assert detect({"app.py": "", "src/requirements.txt": ""}) is None
