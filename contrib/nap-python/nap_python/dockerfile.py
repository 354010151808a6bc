"""The Dockerfile of a Python app: base image, dependency layer, code, web command.

Dependencies come from the first of ``requirements.txt``, ``Pipfile`` (with
``Pipfile.lock`` if there is one) and ``pyproject.toml`` (its ``[project]
dependencies``). Only those files are copied before the install step, so the
engine reuses that layer for every push that leaves them unchanged.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from nap_core.config import Settings
from nap_core.errors import BuildFailed
from nap_docker.generate import choose_base, cmd_line, procfile_command, read_text

#: The files that make a Python app, in the order their dependencies are used.
DEPENDENCY_FILES = ("requirements.txt", "Pipfile", "pyproject.toml")
#: The base image's setting and default: the official slim image of current Python.
BASE_SETTING = "python.base_image"
DEFAULT_BASE = "python:3.14-slim"
#: A requirement line that names gunicorn (``gunicorn``, ``gunicorn==23.0``, ``"gunicorn>=21",``).
GUNICORN = re.compile(r"^[\s\"']*gunicorn(?![A-Za-z0-9_.-])", re.IGNORECASE | re.MULTILINE)

HEADER = """\
FROM {base}
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \\
    PIP_ROOT_USER_ACTION=ignore
# Dependencies first, from the dependency files alone: a push that changes
# only code reuses this layer.
"""

INSTALL = {
    "requirements.txt": "COPY requirements.txt /app/\nRUN pip install -r requirements.txt\n",
    "Pipfile": (
        "COPY Pipfile /app/\nRUN pip install pipenv && pipenv install --system --skip-lock\n"
    ),
    "Pipfile.lock": (
        "COPY Pipfile Pipfile.lock /app/\n"
        "RUN pip install pipenv && pipenv install --system --deploy\n"
    ),
    # Fixed text: the dependency list is read inside the build, never pasted in here.
    "pyproject.toml": (
        "COPY pyproject.toml /app/\n"
        "RUN python -c \"import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))"
        ".get('project', {}).get('dependencies', []), sep=chr(10))\" > /tmp/requirements.txt"
        " && pip install -r /tmp/requirements.txt\n"
    ),
}

FOOTER = """\
COPY . /app
{cmd}
"""


def dependency_file(root: Path) -> str | None:
    """Which dependency file the install step uses (``Pipfile.lock`` for a locked Pipfile)."""
    for name in DEPENDENCY_FILES:
        if (root / name).is_file() or (root / name).is_symlink():
            if name == "Pipfile" and (root / "Pipfile.lock").is_file():
                return "Pipfile.lock"
            return name
    return None


def requested_version(root: Path) -> tuple[str | None, str]:
    """The Python version the app asks for, and which file asks: ``runtime.txt``
    (``python-3.12.1``, Heroku's) first, then ``.python-version`` (``3.12``)."""
    runtime = read_text(root, "runtime.txt")
    if runtime is not None and runtime.strip():
        value = runtime.strip().split("\n")[0].strip()
        return value.removeprefix("python-"), "runtime.txt"
    pinned = read_text(root, ".python-version")
    if pinned is not None:
        for line in pinned.split("\n"):
            if line.strip() and not line.strip().startswith("#"):
                return line.strip(), ".python-version"
    return None, ""


def uses_gunicorn(root: Path, dependencies: str | None) -> bool:
    """Whether the app's dependency file lists gunicorn."""
    if dependencies is None:
        return False
    name = "Pipfile" if dependencies == "Pipfile.lock" else dependencies
    text = read_text(root, name) or ""
    if name == "requirements.txt":
        return GUNICORN.search(text) is not None
    data = _toml(text, name)
    if name == "Pipfile":
        listed = list(data.get("packages", {}))
    else:
        listed = list(data.get("project", {}).get("dependencies", []))
    return any(GUNICORN.match(str(entry)) for entry in listed)


def _toml(text: str, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BuildFailed(f"{name} is not valid TOML: {exc}") from None


def default_web(root: Path, dependencies: str | None) -> str:
    """The web command of an app without a Procfile ``web:`` line.

    gunicorn serving ``app:app`` when the dependencies list gunicorn and there is
    an ``app.py``; else ``python app.py``, which must listen on ``$PORT``.
    """
    if not (root / "app.py").is_file():
        raise BuildFailed(
            "no web command: add a Procfile with a `web:` line (web: gunicorn app:app), "
            "or an app.py that listens on $PORT"
        )
    if uses_gunicorn(root, dependencies):
        return 'exec gunicorn --bind "0.0.0.0:$PORT" app:app'
    return "exec python app.py"


def generate(root: Path, settings: Settings) -> tuple[str, list[str]]:
    """The Dockerfile text for the tree at ``root``, and lines for the push output."""
    dependencies = dependency_file(root)
    wanted, origin = requested_version(root)
    configured = settings.get(BASE_SETTING) or DEFAULT_BASE
    base, said = choose_base(configured, BASE_SETTING, wanted, origin)
    web, web_origin = procfile_command(root), "Procfile"
    if web is None:
        web, web_origin = default_web(root, dependencies), "default"
    install = INSTALL[dependencies] if dependencies else ""
    text = HEADER.format(base=base) + install + FOOTER.format(cmd=cmd_line(web))
    lines = [
        f"Python: {said}",
        f"dependencies: {dependencies or 'none'}; web: {web} ({web_origin})",
    ]
    return text, lines
