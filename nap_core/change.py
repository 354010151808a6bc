"""What a release carries besides its content: a change to the app's config
vars or scale, committed together with the release (:mod:`nap_core.state`)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen
class Change:
    """A change to an app's config vars (``env``) or scale (``replicas``: web, ``formation``:
    other process types) that a release carries; ``None`` leaves that part as it is."""

    env: Mapping[str, str] | None = None
    replicas: int | None = None
    formation: Mapping[str, int] | None = None
