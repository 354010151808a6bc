"""``app.json`` in Dokku's format: startup health checks, predeploy and
postdeploy scripts, and the initial formation.

Read from the pushed tree as a git blob, capped at ``max_read_size`` bytes. Keys
nap does not use (``name``, ``env``, ``addons``, ...) are left alone; inside
``healthchecks.web`` and ``formation`` an unknown field is an error naming it,
so a check never silently does less than its author meant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from nap_core import procfile
from nap_core.checks import Check, HealthChecks
from nap_core.errors import NapError
from nap_core.model import Tree
from nap_core.output import Output
from nap_core.procfile import FILE_LIMIT, check_type_name, split_command
from nap_core.proctable import ProcessTable

FILENAME = "app.json"
#: Check fields nap runs (``name`` and ``description`` only label a check).
CHECK_FIELDS = {"type", "path", "content", "attempts", "timeout", "wait", "initialDelay"}
LABELS = {"name", "description"}
#: Dokku's defaults for an app.json check.
DEFAULTS = {"attempts": 3, "timeout": 5.0, "wait": 5.0, "initialDelay": 0.0}
#: The most instances app.json's formation may ask of one type.
MAX_QUANTITY = 100


@attrs.frozen
class AppJson:
    """What nap takes from an app.json: ``checks`` is ``None`` when it has no
    ``healthchecks.web`` (then ``CHECKS`` applies); ``notes`` are lines for the push."""

    checks: HealthChecks | None = None
    predeploy: tuple[str, ...] = ()
    postdeploy: tuple[str, ...] = ()
    formation: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()


def read(tree: Tree, limit: int = FILE_LIMIT, shell: bool = False) -> AppJson | None:
    """The pushed tree's app.json, or ``None`` if it has none."""
    data = tree.read(FILENAME, limit)
    if data is None:
        return None
    try:
        document = json.loads(data.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise NapError(f"app.json is not valid JSON{where}: fix the file") from None
    return parse(document, shell)


def parse(document: Any, shell: bool = False) -> AppJson:
    """Interpret a parsed app.json; raise :class:`NapError` naming the bad field."""
    if not isinstance(document, Mapping):
        raise NapError("app.json must hold a JSON object")
    checks, notes = _checks(document.get("healthchecks"))
    scripts = _object(document.get("scripts", {}), "scripts")
    dokku = _object(scripts.get("dokku", {}), "scripts.dokku")
    return AppJson(
        checks=checks,
        predeploy=_script(dokku, "predeploy", shell),
        postdeploy=_script(dokku, "postdeploy", shell),
        formation=_formation(document.get("formation")),
        notes=tuple(notes),
    )


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise NapError(f"app.json {where} must be an object")
    return value


def _script(dokku: Mapping[str, Any], name: str, shell: bool) -> tuple[str, ...]:
    value = dokku.get(name)
    if value is None or value == "":
        return ()
    if not isinstance(value, str):
        raise NapError(f"app.json scripts.dokku.{name} must be a command string")
    return split_command(value, f"app.json scripts.dokku.{name}", shell)


def _number(check: Mapping[str, Any], field: str, where: str) -> float:
    value = check.get(field, DEFAULTS[field])
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise NapError(f"app.json {where}.{field} must be a number of at least 0")
    return float(value)


def _checks(value: Any) -> tuple[HealthChecks | None, list[str]]:
    if value is None:
        return None, []
    web = _object(value, "healthchecks").get("web")
    if web is None:
        return None, []
    if not isinstance(web, list):
        raise NapError("app.json healthchecks.web must be a list of checks")
    checks, notes = [], []
    for index, raw in enumerate(web):
        where = f"healthchecks.web[{index}]"
        check = _object(raw, where)
        unknown = sorted(set(check) - CHECK_FIELDS - LABELS)
        if unknown:
            raise NapError(f"app.json {where}: nap does not support the field {unknown[0]!r}")
        kind = check.get("type", "startup")
        if kind in ("liveness", "readiness"):
            notes.append(f"app.json: {kind} checks are not run by nap; {where} is ignored")
            continue
        if kind != "startup":
            raise NapError(f"app.json {where}.type must be startup, liveness or readiness")
        path = check.get("path", "/")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > 1024:
            raise NapError(f"app.json {where}.path must be a path such as /health")
        content = check.get("content", "")
        if not isinstance(content, str):
            raise NapError(f"app.json {where}.content must be a string")
        attempts = _number(check, "attempts", where)
        if attempts < 1 or attempts != int(attempts):
            raise NapError(f"app.json {where}.attempts must be a whole number of at least 1")
        checks.append(
            Check(
                path,
                content,
                attempts=int(attempts),
                timeout=_number(check, "timeout", where) or DEFAULTS["timeout"],
                wait=_number(check, "wait", where),
                initial_delay=_number(check, "initialDelay", where),
            )
        )
    return HealthChecks(checks=tuple(checks)), notes


def _formation(value: Any) -> tuple[tuple[str, int], ...]:
    if value is None:
        return ()
    found = {}
    for name, entry in _object(value, "formation").items():
        try:
            check_type_name(name)
        except NapError as exc:
            raise NapError(f"app.json formation: {exc}") from None
        fields = _object(entry, f"formation.{name}")
        unknown = sorted(set(fields) - {"quantity"})
        if unknown:
            raise NapError(f"app.json formation.{name}: nap does not support {unknown[0]!r}")
        quantity = fields.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise NapError(f"app.json formation.{name}.quantity must be a whole number")
        if not 0 <= quantity <= MAX_QUANTITY:
            raise NapError(f"app.json formation.{name}.quantity must be 0 to {MAX_QUANTITY}")
        found[name] = quantity
    return tuple(sorted(found.items()))


def process_table(
    tree: Tree, app_type: str, limit: int = FILE_LIMIT
) -> tuple[ProcessTable, AppJson | None]:
    """The pushed tree's process table: its Procfile's, with app.json's formation
    and scripts; and the app.json itself (``None`` without one).

    Commands run as their words for the ``dockerfile`` app type (Dokku's rule for
    Dockerfile apps: the image decides, through its ENTRYPOINT) and through
    ``/bin/sh -c`` for every other app type (Heroku's rule: those images are
    built the way buildpacks build them, with a shell, and ``$PORT`` expands).
    """
    shell = app_type != "dockerfile"
    table = procfile.read(tree, limit, shell)
    found = read(tree, limit, shell)
    if found is None:
        return table, None
    table = attrs.evolve(
        table, formation=found.formation, predeploy=found.predeploy, postdeploy=found.postdeploy
    )
    return table, found


def startup_checks(
    file_checks: HealthChecks, described: AppJson | None, output: Output
) -> HealthChecks:
    """The startup checks: app.json's ``healthchecks.web`` if it has them, else CHECKS."""
    if described is None or described.checks is None:
        return file_checks
    for note in described.notes:
        output.line(note)
    if file_checks.checks:
        output.line("app.json has health checks: they are used, CHECKS is ignored")
    return described.checks
