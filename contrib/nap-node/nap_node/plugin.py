"""detect and build for Node.js apps: a ``package.json`` at the root.

A Dockerfile wins, unless the app chose this type with ``nap apps set APP
app_type node``. The generated Dockerfile installs the dependencies from
``package.json`` (and ``package-lock.json`` / ``npm-shrinkwrap.json`` when
present, with ``npm ci``) in a layer of their own, before the code is copied.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from nap_core.config import Settings
from nap_core.errors import BuildFailed
from nap_core.hookimpl import hookimpl
from nap_core.model import App, Image, Release, Source, Tree
from nap_core.output import Output

APP_TYPE = "node"
BASE_SETTING = "node.base_image"
#: The official slim image of the current Node LTS.
DEFAULT_BASE = "node:24-slim"
DEFAULT_WEB = "npm start"
LOCKFILES = ("npm-shrinkwrap.json", "package-lock.json")
#: ``engines.node`` values that name one major version: ``20``, ``20.x``, ``^20.1.0``, ``~20``.
ONE_MAJOR = re.compile(r"^\s*[\^~]?v?(\d{1,3})(?:\.(?:\d{1,4}|x|\*)){0,2}\s*$")

DOCKERFILE = """\
FROM {base}
WORKDIR /app
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false
# Dependencies first, from the package files alone: a push that changes only
# code reuses this layer.
{install}
COPY . /app
{cmd}
"""


# tryfirst: an app with both a package.json and a Python dependency file is a
# Node app, in Heroku's detection order; `nap apps set APP app_type python`
# chooses otherwise.
@hookimpl(tryfirst=True)
def detect(app: App, tree: Tree) -> str | None:
    """A ``package.json`` at the root, and no Dockerfile, make a Node app."""
    names = set(tree.names())
    if "Dockerfile" in names:
        return None
    return APP_TYPE if "package.json" in names else None


def install_step(lockfile: str | None) -> str:
    """Copy the package files and install the production dependencies."""
    if lockfile is None:
        return "COPY package.json /app/\nRUN npm install --omit=dev"
    return f"COPY package.json {lockfile} /app/\nRUN npm ci --omit=dev"


def engines_major(package: dict[str, Any]) -> str | None:
    """The major version ``engines.node`` names, or the raw value when it is a range."""
    engines = package.get("engines")
    wanted = engines.get("node") if isinstance(engines, dict) else None
    if not isinstance(wanted, str):
        return None
    match = ONE_MAJOR.match(wanted)
    return match.group(1) if match else wanted


def read_package(root: Path) -> dict[str, Any]:
    """The app's package.json, parsed (read as a regular file, size-capped)."""
    from nap_docker.generate import read_text

    text = read_text(root, "package.json") or "{}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BuildFailed(f"package.json is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BuildFailed("package.json is not a JSON object")
    return data


def generate(root: Path, settings: Settings) -> tuple[str, list[str]]:
    """The Dockerfile text for the tree at ``root``, and lines for the push output."""
    from nap_docker.generate import VERSION, choose_base, cmd_line, web_command

    package = read_package(root)
    wanted = engines_major(package)
    configured = settings.get(BASE_SETTING) or DEFAULT_BASE
    if wanted is not None and not VERSION.match(wanted):
        # A range (">=18"): the configured image is used; say which.
        base, said = choose_base(configured, BASE_SETTING, None, "")
        said = f"engines.node is {wanted[:40]!r}, not one version: {said}"
    else:
        base, said = choose_base(configured, BASE_SETTING, wanted, "engines.node")
    lockfile = next((name for name in LOCKFILES if (root / name).is_file()), None)
    web, origin = web_command(root, DEFAULT_WEB)
    text = DOCKERFILE.format(base=base, install=install_step(lockfile), cmd=cmd_line(web))
    lines = [
        f"Node.js: {said}",
        f"dependencies: {lockfile or 'package.json'}; web: {web} ({origin})",
    ]
    return text, lines


@hookimpl
def build(
    app: App, source: Source, app_type: str, release: Release, settings: Settings, output: Output
) -> Image | None:
    """Generate the Dockerfile and build it through nap's build function."""
    if app_type != APP_TYPE:
        return None
    from nap_docker.build import build_generated

    text, notes = generate(source.path, settings)
    return build_generated(app, source, release, settings, output, text, notes)
