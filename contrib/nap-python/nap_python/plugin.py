"""detect and build for Python apps, the way Heroku recognises them.

An app is a Python app when its root holds ``requirements.txt``, ``Pipfile``
or ``pyproject.toml``, and no Dockerfile (a Dockerfile wins, unless the app
chose this type with ``nap apps set APP app_type python``). The generated
Dockerfile (:mod:`nap_python.dockerfile`) installs the dependencies from the
dependency files alone, in a layer of their own, before the code is copied.
"""

from __future__ import annotations

from nap_core.config import Settings
from nap_core.hookimpl import hookimpl
from nap_core.model import App, Image, Release, Source, Tree
from nap_core.output import Output
from nap_python.dockerfile import DEPENDENCY_FILES

APP_TYPE = "python"


@hookimpl
def detect(app: App, tree: Tree) -> str | None:
    """A Python dependency file at the root, and no Dockerfile, make a Python app."""
    names = set(tree.names())
    if "Dockerfile" in names:
        return None
    return APP_TYPE if names.intersection(DEPENDENCY_FILES) else None


@hookimpl
def build(
    app: App, source: Source, app_type: str, release: Release, settings: Settings, output: Output
) -> Image | None:
    """Generate the Dockerfile and build it through nap's build function."""
    if app_type != APP_TYPE:
        return None
    from nap_docker.build import build_generated
    from nap_python.dockerfile import generate

    text, notes = generate(source.path, settings)
    return build_generated(app, source, release, settings, output, text, notes)
