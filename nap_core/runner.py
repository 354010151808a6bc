"""Running a deploy for a front end (the pre-receive hook, ``nap deploy``).

Turns every failure into one ``error: ...`` line and an exit status, so the
pusher sees what went wrong and what to do, never a traceback (an unexpected
one is logged on the server, :mod:`nap_core.errorlog`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from nap_core import diskfull
from nap_core.config import Settings
from nap_core.errorlog import log_unexpected, one_line
from nap_core.errors import NapError
from nap_core.model import Request
from nap_core.output import Output


def run_deploy(request: Request, environ: Mapping[str, str], output: Output | None = None) -> int:
    """Deploy ``request``; return 0 when a release serves, 1 when the deploy failed."""
    from nap_core.pipeline import deploy
    from nap_core.plugins import plugin_manager

    output = output or Output(sys.stderr)
    try:
        settings = Settings.load(environ)
        deploy(request, settings, plugin_manager(environ, settings=settings), output)
    except NapError as exc:
        output.stream.write(f"error: {one_line(diskfull.hint(str(exc), environ))}\n")
        return 1
    except KeyboardInterrupt:
        output.stream.write("error: deploy interrupted; the previous release still serves\n")
        return 1
    except Exception as exc:  # a bug (or a full disk): the details in the server's log
        output.stream.write(
            f"error: {diskfull.explain(exc, environ) or log_unexpected(exc, environ)}\n"
        )
        return 1
    return 0
