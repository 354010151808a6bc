"""The docs are part of the interface: every hook is documented, every
configuration key is in the reference."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from nap_core import hookspecs
from nap_core.config import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def hook_names() -> list[str]:
    return [
        name
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(func, "nap_spec")
    ]


def test_every_hook_has_a_section_with_its_signature() -> None:
    text = (DOCS / "hooks.md").read_text()
    headings = re.findall(r"^## `(\w+)\((.*?)\)", text, flags=re.M)
    documented = {name: args for name, args in headings}

    for name in hook_names():
        assert name in documented, f"docs/hooks.md has no section for the hook {name}"
        params = list(inspect.signature(getattr(hookspecs, name)).parameters)
        assert documented[name] == ", ".join(params), f"docs/hooks.md: {name}'s signature"


def test_every_section_says_what_it_returns_and_what_none_means() -> None:
    text = (DOCS / "hooks.md").read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    for section in sections:
        if not section.startswith("`"):
            continue
        title = section.splitlines()[0]
        assert "**Returns**" in section, title
        assert "**Bundled:**" in section, title
        assert "```python" in section, title
        if "-> None`" not in title:
            assert "**None**" in section, title


def test_the_hook_order_is_the_documented_order() -> None:
    text = (DOCS / "hooks.md").read_text()
    table = re.findall(r"^\| (\d) \| \[`(\w+)`\]", text, flags=re.M)

    assert [name for _, name in table] == list(hookspecs.ORDER)
    assert set(hook_names()) == {
        *hookspecs.ORDER,
        *hookspecs.OPERATIONS,
        *hookspecs.SERVICES,
        *hookspecs.ROUTER,
    }


def test_the_hook_reference_is_generated_from_the_hookspec_docstrings() -> None:
    import runpy

    generator = runpy.run_path(str(DOCS.parent / "scripts" / "hooks_doc.py"))

    assert (DOCS / "hooks.md").read_text() == generator["render"](), (
        "docs/hooks.md differs from the hookspec docstrings: run python scripts/hooks_doc.py"
    )


def test_every_configuration_key_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()

    for key in DEFAULTS:
        env = "NAP_" + key.upper()
        assert f"`{key}`" in text and f"`{env}`" in text, f"{key} is not documented"
    assert "`NAP_HOME`" in text and "`NAP_DISABLE_PLUGINS`" in text
