"""Image clean-up: after each deploy, keep the last ``keep_releases`` releases.

Images shared by kept releases (a config change reuses its release's image)
are never removed, nor is the current release's. A pruned release is marked
so: ``nap rollback`` to it then says its image is gone instead of failing to pull.
"""

from __future__ import annotations

import shutil

from nap_core import images
from nap_core.config import Settings
from nap_core.model import App
from nap_core.output import Output
from nap_core.state import State


def prune(state: State, app: App, settings: Settings, output: Output) -> None:
    """Keep the images and directories of the last ``keep_releases`` releases that ran
    (and always the current one); remove the rest, here and in the registry."""
    keep_count = max(1, int(settings.number("keep_releases")))
    ran = [r for r in state.releases(app) if r.status == "succeeded"]
    current = state.current(app)
    kept = ran[:keep_count] + ([current] if current else [])
    kept_numbers = {r.number for r in kept}
    kept_infos = [state.image_info(app, r.number) for r in kept]
    kept_refs = {ref for info in kept_infos for ref in images.references(info)}
    kept_digests = {info.get("digest") for info in kept_infos}
    for release in state.releases(app):
        if release.number in kept_numbers or release.status == "deploying":
            continue
        info = state.image_info(app, release.number)
        if info and not info.get("pruned"):
            gone = True
            for ref in images.references(info):
                if ref not in kept_refs:
                    gone = images.remove_local(ref, output) and gone
            if info.get("digest") and info["digest"] not in kept_digests:
                deleted = images.delete_from_registry(info["repository"], info["digest"], output)
                gone = deleted and gone
            if gone:
                state.set_image_info(app, release.number, {**info, "pruned": True})
        shutil.rmtree(settings.release_dir(app.name, release.number), ignore_errors=True)
