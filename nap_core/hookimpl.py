"""The marker plugins use to implement nap's hooks::

from nap_core.hookimpl import hookimpl

@hookimpl
def detect(app, source):
    ...
"""

import pluggy

hookimpl = pluggy.HookimplMarker("nap")
