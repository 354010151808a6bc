"""Write docs/hooks.md from the hookspec docstrings (nap_core/hookspecs.py).

    python scripts/hooks_doc.py          # rewrite docs/hooks.md
    python scripts/hooks_doc.py --check  # exit 1 if docs/hooks.md is out of date

The docstrings are the reference; this page is their rendering, so the two
cannot drift (tests/test_docs.py runs the check).
"""

from __future__ import annotations

import inspect
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nap_core import hookspecs

DOC = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"

HEAD = """\
# Hooks

<!-- Generated from nap_core/hookspecs.py by scripts/hooks_doc.py: edit the docstrings there. -->

nap's core is a pipeline of [pluggy](https://pluggy.readthedocs.io) hooks. Every
app type, registry, scheduler and router is a plugin that implements some of
them. This page is generated from the specs' docstrings in `nap_core/hookspecs.py`.

A deploy calls, in this order:

{table}

Once the new release is current, the core calls {retire} to stop the release
it replaced: the switch comes first, so a deploy that dies leaves the old
release serving, never nothing. Day-2 commands (`nap ps`, `nap logs`, `nap stop`,
`nap apps destroy`...) call the operation hooks {operations}, answered by the
active scheduler. Image
clean-up and `nap apps destroy` call {unpublish}; every `nap` command line
calls {commands}. The active router (`router = "..."`, [router.md](router.md))
answers {router}: the core hands it the whole routing table on every change.

*First result* hooks stop at the first implementation that returns something
other than `None`; when none answers, the core raises a named error
(`NoAppType`, `NoScheduler`...) whose message says what to do. Values passed
between hooks are frozen [attrs](https://www.attrs.org) classes from
`nap_core/model.py`: a hook that wants a changed value returns a new one.

## Writing a plugin

A plugin is a module with functions marked `@hookimpl`. One that is always on
(an app type, a publisher, commands) registers under the entry-point group
`nap`:

```python
# nap_procfile/plugin.py
from nap_core.hookimpl import hookimpl


@hookimpl
def detect(app, tree):
    return "procfile" if "Procfile" in tree.names() else None
```

```toml
# pyproject.toml of the plugin's distribution
[project.entry-points.nap]
procfile = "nap_procfile.plugin"
```

A scheduler registers under `nap.schedulers` instead (a router under
`nap.routers`). The core loads exactly the one that `scheduler` (or `router`)
names, so its hooks never ask which scheduler is configured; it must implement
{scheduler_hooks}. An unknown name is a one-line error that lists the installed
ones, before anything is built.

```toml
[project.entry-points."nap.schedulers"]
nomad = "nap_nomad.plugin"
```

After `pip install`, `nap plugins list` shows the plugin with the hooks it
implements (and, for a scheduler or router, whether it is the active one).
`NAP_DISABLE_PLUGINS=procfile,local` blocks plugins by name. Only implement
the arguments you need: pluggy passes a hook the subset it asks for.

---
"""

FIELDS = {"return": "**Returns**", "none": "**None** means", "bundled": "**Bundled:**"}
PLUGINS = ("core", "gitshell", "dockerfile", "registry", "local", "fleet", "swarm", "caddy")


def anchor(func: Callable[..., Any]) -> str:
    """GitHub's anchor of a hook's heading."""
    heading = heading_of(func).lower()
    return "#" + re.sub(r"[^a-z0-9_ -]", "", heading).replace(" ", "-")


def heading_of(func: Callable[..., Any]) -> str:
    """``name(a, b) -> Ret``."""
    signature = inspect.signature(func)
    returns = str(signature.return_annotation).replace("'", "")
    return f"{func.__name__}({', '.join(signature.parameters)}) -> {returns}"


def parse(doc: str) -> tuple[str, list[tuple[str, str]], str]:
    """A docstring's prose, its ``:field name: text`` items and its example."""
    doc = inspect.cleandoc(doc)
    doc, _, example = doc.partition("Example::")
    prose: list[str] = []
    items: list[tuple[str, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^:(\w+)(?: (\w+))?: ?(.*)$", line)
        if match:
            field, name, text = match.groups()
            items.append((f"{field} {name}" if name else field, text))
        elif items and line.startswith("    "):
            key, text = items[-1]
            items[-1] = (key, f"{text} {line.strip()}")
        elif not items:
            prose.append(line)
    return "\n".join(prose).strip(), items, textwrap.dedent(example).strip()


def markdown(text: str) -> str:
    """reST literals to Markdown."""
    return text.replace("``", "`")


def section(func: Callable[..., Any]) -> str:
    """One hook's section."""
    prose, items, example = parse(func.__doc__ or "")
    annotations = inspect.signature(func).parameters
    lines = [f"## `{heading_of(func)}`", "", markdown(prose), ""]
    for key, text in items:
        field, _, name = key.partition(" ")
        if field == "param":
            kind = str(annotations[name].annotation).replace("'", "")
            lines.append(f"- **{name}** (`{kind}`): {markdown(text)}")
        else:
            lines.append(f"- {FIELDS[field]} {markdown(text)}")
    lines += ["", "```python", example, "```", ""]
    return "\n".join(lines)


def mode(func: Callable[..., Any]) -> str:
    """``first result`` or ``all called``."""
    opts = getattr(func, "nap_spec", {})
    return "first result" if opts.get("firstresult") else "all called"


def link(name: str) -> str:
    """A Markdown link to the section of hook ``name``."""
    func = getattr(hookspecs, name)
    return f"[`{name}`]({anchor(func)})"


def bundled(items: list[tuple[str, str]]) -> str:
    """The table's short form of a ``:bundled:`` field: the plugins it names."""
    text = dict(items).get("bundled", "")
    if text.startswith("the active scheduler"):
        return "the active scheduler"
    named = re.findall(r"``(\w+)``", text)
    return ", ".join(f"`{name}`" for name in dict.fromkeys(named) if name in PLUGINS)


def render() -> str:
    """The whole page."""
    rows = [
        "| # | hook | mode | bundled implementation |",
        "|---|------|------|------------------------|",
    ]
    for number, name in enumerate(hookspecs.ORDER, start=1):
        func = getattr(hookspecs, name)
        _, items, _ = parse(func.__doc__ or "")
        rows.append(f"| {number} | {link(name)} | {mode(func)} | {bundled(items)} |")
    head = HEAD.format(
        table="\n".join(rows),
        operations=", ".join(link(name) for name in hookspecs.OPERATIONS),
        retire=link("retire"),
        unpublish=link("unpublish"),
        commands=link("register_commands"),
        router=", ".join(link(name) for name in hookspecs.ROUTER),
        scheduler_hooks=", ".join(f"`{name}`" for name in hookspecs.SCHEDULER),
    )
    names = [
        *hookspecs.ORDER, "---", *hookspecs.OPERATIONS, "---", *hookspecs.SERVICES, "---",
        *hookspecs.ROUTER,
    ]  # fmt: skip
    parts = [head]
    for name in names:
        parts.append("---\n" if name == "---" else section(getattr(hookspecs, name)))
    return "\n".join(parts).rstrip() + "\n"


def main(argv: list[str]) -> int:
    """Write the page, or with ``--check`` say whether it is current."""
    text = render()
    if "--check" in argv:
        if DOC.read_text() != text:
            print(f"{DOC} is out of date: run python scripts/hooks_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
