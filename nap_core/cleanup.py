"""Image clean-up: after each release, keep the last ``keep_releases`` releases.

Images shared by kept releases (a config change reuses its release's image)
are never removed, nor is the current release's. A pruned release is marked
so: ``nap rollback`` to it then says its image is gone instead of failing to pull.
The publisher removes the images (the ``unpublish`` hook); this module only
decides which.
"""

from __future__ import annotations

import shutil

from nap_core.config import Settings
from nap_core.model import App
from nap_core.output import Output
from nap_core.plugins import PluginManager
from nap_core.state import State


def prune(state: State, app: App, settings: Settings, pm: PluginManager, output: Output) -> None:
    """Keep the images and directories of the last ``keep_releases`` releases that ran
    (and always the current one); remove the rest, here and in the registry."""
    keep_count = max(1, int(settings.number("keep_releases")))
    ran = [r for r in state.releases(app) if r.status == "succeeded"]
    current = state.current(app)
    kept = ran[:keep_count] + ([current] if current else [])
    kept_numbers = {r.number for r in kept}
    kept_images = {r.image.pinned for r in kept if r.image is not None}
    for release in state.releases(app):
        if release.number in kept_numbers or release.status == "deploying":
            continue
        image = release.image
        if image is not None and not release.pruned:
            shared = image.pinned in kept_images
            if shared or pm.hook.unpublish(image=image, settings=settings, output=output):
                state.mark_pruned(release)
        shutil.rmtree(settings.release_dir(app.name, release.number), ignore_errors=True)
