"""Named volumes for a Dockerfile's VOLUME paths.

Every scheduler names an app's volume for a path the same way, so the data
survives redeploys and rollbacks (the name does not depend on the release).
"""

from __future__ import annotations

import hashlib
import re

from nap_core.values import check_volume_path


def volume_name(app: str, path: str) -> str:
    """``nap-APP-<readable path>-<short hash>``: stable for an app and a VOLUME path.

    ``path`` is checked (:func:`~nap_core.values.check_volume_path`) here, where
    every scheduler names its volumes.
    """
    check_volume_path(path, f"the image of {app}")
    readable = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
    digest = hashlib.sha256(path.encode()).hexdigest()[:8]
    return f"nap-{app}-{readable[:40]}-{digest}"
