"""The local scheduler's named volumes: one per app and VOLUME path, labelled
with the release that made it, so that the volumes of a release that never
served can be told apart and removed."""

from __future__ import annotations

from typing import Any

from nap_core.model import App
from nap_docker.labels import LABEL_APP, LABEL_RELEASE
from nap_docker.volumes import legacy_volume_name, volume_name


def ensure(client: Any, app: App, path: str, release: int) -> str:
    """The app's named volume for a VOLUME path, created (and labelled with the
    release that made it, :func:`orphans`) on first use."""
    import docker.errors

    name = volume_name(app.name, path)
    try:
        client.volumes.get(name)
    except docker.errors.NotFound:
        pass
    else:
        return name
    # A volume named as before names were unique per app keeps serving, if it
    # is this app's own by its labels.
    try:
        legacy = client.volumes.get(legacy_volume_name(app.name, path))
    except docker.errors.NotFound:
        pass
    else:
        labels = legacy.attrs.get("Labels") or {}
        if labels.get(LABEL_APP) == app.name and labels.get("nap.path") == path:
            return str(legacy.name)
    labels = {LABEL_APP: app.name, "nap.path": path, LABEL_RELEASE: str(release)}
    client.volumes.create(name, labels=labels)
    return name


def orphans(client: Any, app: App, keep: int) -> list[Any]:
    """The app's volumes made by a release after ``keep`` (the current one, or 0):
    under the deploy lock, such a release failed or died, so no release that
    served ever wrote to them. A later release that mounts one adopts it."""
    found = client.volumes.list(filters={"label": f"{LABEL_APP}={app.name}"})
    return [
        volume
        for volume in found
        if int((volume.attrs.get("Labels") or {}).get(LABEL_RELEASE) or 0) > keep
    ]
