"""Rendering the templates plugins ship, with operator overrides.

A plugin's template ``run.service`` lives in its package under ``templates/``;
a file of the same name in ``NAP_HOME/templates/<plugin>/`` replaces it.
Rendering is strict: a variable the template names but nobody passes is an
error, never an empty string in a unit. Templates quote every value with the
filters of :mod:`nap_core.quoting`: ``{{ path | systemd }}`` (one word of a
systemd command line) and ``{{ value | yaml }}`` (a YAML scalar).
"""

from __future__ import annotations

from typing import Any

from nap_core.config import Settings
from nap_core.quoting import systemd_word, yaml_scalar


def render(settings: Settings, plugin: str, package: str, name: str, **context: Any) -> str:
    """Render template ``name`` of ``plugin`` (shipped in ``package``) with ``context``."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(str(settings.home / "templates" / plugin)),
                jinja2.PackageLoader(package, "templates"),
            ]
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - units and specs are not HTML
    )
    env.filters["systemd"] = lambda value: systemd_word(str(value), f"a value of {name}")
    env.filters["yaml"] = yaml_scalar
    return env.get_template(name).render(**context)
