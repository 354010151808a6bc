"""Publishing a release's image: before the release starts, or while it starts.

A scheduler whose nodes pull images from the registry (swarm, fleet) needs the
image published before anything runs. A scheduler that runs images on the very
engine that built them declares it with a module (or plugin object) attribute
``RUNS_BUILT_IMAGE = True`` (``local`` does): its release then starts from the
image id, as immutable as the digest, while the publish runs in a thread, so a
first push does not wait for the upload of its base image's layers before the
app starts. The setting ``publish_first = true`` turns this off.

Either way the release becomes current only once the publish has ended and its
digest is recorded: if the publish fails, the release fails, the instances it
started are removed, the release that served keeps serving (it was never
switched away from) and the push is rejected. A deploy killed meanwhile is a
deploy that died before the switch, cleaned up by the next command like any other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs

from nap_core.config import Settings
from nap_core.errors import NoPublisher, PublishFailed, what_serves
from nap_core.model import Image, Release
from nap_core.output import Output
from nap_core.plugins import PluginManager
from nap_core.state import State


def runs_built_image(pm: PluginManager, settings: Settings) -> bool:
    """Whether the active scheduler may start a release before its image is published:
    it declares ``RUNS_BUILT_IMAGE`` and ``publish_first`` is off."""
    scheduler = pm.get_plugin(pm.active.get("scheduler", ""))
    declared = bool(getattr(scheduler, "RUNS_BUILT_IMAGE", False))
    return declared and not settings.flag("publish_first")


class _Lines(Output):
    """Lines the publishing thread writes, kept until the deploy can print them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def _write(self, text: str) -> None:
        self.lines.append(text)


class Publication:
    """One image's publish, run in a thread (:meth:`start`) or at once (:meth:`wait`)."""

    def __init__(self, image: Image, settings: Settings, pm: PluginManager) -> None:
        self.image = image
        self.settings = settings
        self.pm = pm
        self.lines = _Lines()
        self.result: Image | None = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        #: Whether the deploy stored the published image with its release.
        self.recorded = False

    def _run(self) -> None:
        try:
            self.result = self.pm.hook.publish(
                image=self.image, settings=self.settings, output=self.lines
            )
        except BaseException as exc:  # handed to the deploy by wait()
            self.error = exc

    def start(self) -> None:
        """Begin the publish in a daemon thread: a deploy that fails or is
        interrupted meanwhile never waits on it to exit."""
        self.thread = threading.Thread(target=self._run, name="nap-publish", daemon=True)
        self.thread.start()

    def wait(self, output: Output) -> Image:
        """The image pinned by its digest, once the publish ends; its lines go to
        ``output``. Raises what the publish raised."""
        if self.thread is not None:
            self.thread.join()
        elif self.result is None and self.error is None:
            self._run()
        for text in self.lines.lines:
            output._write(text)
        self.lines.lines.clear()
        if self.error is not None:
            raise self.error
        if self.result is None:
            raise NoPublisher("no plugin publishes images; check `nap plugins list`")
        return self.result


@attrs.frozen
class Publishing:
    """What a deploy runs its release from, and how to get the pinned image."""

    runnable: Image
    publication: Publication
    state: State
    release: Release
    output: Output

    def pinned(self, release: Release) -> Release:
        """``release`` with its published image, recorded; raises if the publish failed."""
        published = self.publication.wait(self.output)
        if not self.publication.recorded:
            self.state.record_image(attrs.evolve(self.release, image=published))
            self.output.line(f"pinned {published.pinned}")
            self.publication.recorded = True
        return attrs.evolve(release, image=published)


@contextmanager
def publishing(
    state: State,
    release: Release,
    image: Image,
    previous: Release | None,
    settings: Settings,
    pm: PluginManager,
    output: Output,
) -> Iterator[Publishing]:
    """Publish ``image``: first, or beside the block that starts the release.

    The block starts the release from ``runnable`` and calls ``pinned`` before
    the switch. If the block fails while the publish runs, the publish is waited
    for (bounded by ``publish_timeout``) so that what reached the registry is
    recorded and clean-up can remove it. If the publish fails once the release
    started, the release's instances are removed (``retire``, keeping
    ``previous``) and the error is raised.
    """
    publication = Publication(image, settings, pm)
    concurrent = runs_built_image(pm, settings)
    note = f" while release {release.number} starts from {image.id[:19]}" if concurrent else ""
    output.step(f"Publishing to {settings.registry}{note}")
    job = Publishing(image, publication, state, release, output)
    if concurrent:
        publication.start()
    else:
        job = attrs.evolve(job, runnable=job.publication.wait(output))
        job.pinned(release)  # recorded, before anything starts
    try:
        yield job
    except Exception:
        if concurrent and publication.result is None and publication.error is None:
            _record_anyway(job)
        if concurrent and publication.error is not None:
            _remove_started(release, previous, settings, pm, output)
            if isinstance(publication.error, PublishFailed):
                still = what_serves(previous.number if previous else None)
                raise PublishFailed(f"{publication.error}; {still}") from publication.error
        raise


def _record_anyway(job: Publishing) -> None:
    # The release failed first: let the publish end, so its digest is known to clean-up.
    try:
        job.pinned(job.release)
    except Exception as exc:  # the release's own failure is the one to report
        job.output.line(f"the publish did not end either: {_first_line(exc)}")


def _remove_started(
    release: Release,
    previous: Release | None,
    settings: Settings,
    pm: PluginManager,
    output: Output,
) -> None:
    output.line(f"removing the instances of release {release.number}: its publish failed")
    pm.hook.retire(app=release.app, keep=previous, settings=settings, output=output)


def _first_line(exc: Any) -> str:
    return (str(exc) or type(exc).__name__).split("\n", 1)[0]
