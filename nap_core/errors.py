"""The errors nap reports to users.

Every error a user can cause or fix is a :class:`NapError`; the CLI prints its
message as one ``error: ...`` line and exits non-zero. The message says what to do.
"""

from __future__ import annotations


class NapError(Exception):
    """An error with a message meant for the user."""


class AlreadyReported(NapError):
    """A failure whose ``error:`` line the user has seen already (a rejected push
    relayed from the hook): the CLI exits non-zero without printing it again."""


class NoIntake(NapError):
    """No plugin recognised the request."""


class NoAppType(NapError):
    """No plugin recognised the pushed source as an app it can build."""


class NoFetcher(NapError):
    """No plugin could check out the pushed revision."""


class NoBuilder(NapError):
    """No plugin could build the detected app type."""


class NoPublisher(NapError):
    """No plugin could publish the image to the registry."""


class NoScheduler(NapError):
    """The configured scheduler is not installed or did not answer."""


class BuildFailed(NapError):
    """The app's image could not be built."""


class PublishFailed(NapError):
    """The image could not be pushed to the registry."""


class DeployFailed(NapError):
    """The release was built but never answered; the previous release still serves."""


def what_serves(previous: int | None) -> str:
    """The end of a failed deploy's message, the same for every scheduler."""
    return f"release {previous} still serves" if previous else "nothing was running"


class DeployBusy(NapError):
    """Another deploy of the same app holds the lock."""


class RouterUnavailable(NapError):
    """The router could not be started, reached or updated; the apps still run."""
