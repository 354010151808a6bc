"""Named volumes for a Dockerfile's VOLUME paths.

Every scheduler names an app's volume for a path the same way, so the data
survives redeploys and rollbacks (the name does not depend on the release).

``nap-APP_<readable path>-<hash>``: app names hold no ``_``, so the name of
one app's volume can never be another app's, whatever the paths; the hash
(of the app and the path) tells apart paths that read the same.
"""

from __future__ import annotations

import hashlib
import re

from nap_core.values import check_volume_path


def volume_name(app: str, path: str) -> str:
    """``nap-APP_<readable path>-<hash>``: stable for an app and a VOLUME path.

    ``path`` is checked (:func:`~nap_core.values.check_volume_path`) here, where
    every scheduler names its volumes.
    """
    check_volume_path(path, f"the image of {app}")
    digest = hashlib.sha256(f"{app}\0{path}".encode()).hexdigest()[:16]
    return f"nap-{app}_{_readable(path)}-{digest}"


def legacy_volume_name(app: str, path: str) -> str:
    """The name nap gave the volume before names were unique per app
    (``nap-APP-<readable path>-<hash of the path>``), to keep its data."""
    digest = hashlib.sha256(path.encode()).hexdigest()[:8]
    return f"nap-{app}-{_readable(path)}-{digest}"


def _readable(path: str) -> str:
    return (re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root")[:40]
