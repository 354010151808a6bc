"""The core's own plugin (named ``core``): the summary at the end of a deploy."""

from __future__ import annotations

from nap_core.hookimpl import hookimpl
from nap_core.model import Release
from nap_core.output import Output


@hookimpl
def report(release: Release, current: bool, output: Output) -> None:
    """Print the summary line, then one URL per line, last."""
    app = release.app.name
    if current:
        output.done(f"{app} release {release.number} is already current; nothing to build")
    else:
        output.done(f"{app} release {release.number} is up")
    for url in release.urls:  # the app's stable addresses at the router, first
        output.line(url)
    for placement in release.placements:
        output.line(placement.url)
