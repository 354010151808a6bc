"""detect and build for static sites: the pushed tree, served by busybox httpd.

An app is a static site when its root holds ``index.html`` or a ``.static``
marker, and no Dockerfile (a Dockerfile wins, unless the app chose this type
with ``nap apps set APP app_type static``). The image is the base image
(``static.base_image``, default ``busybox:1.37``) with the tree in
``/srv/www``, served on ``$PORT`` by ``nobody``.
"""

from __future__ import annotations

from nap_core.config import Settings
from nap_core.hookimpl import hookimpl
from nap_core.model import App, Image, Release, Source, Tree
from nap_core.output import Output

APP_TYPE = "static"
#: The base image's setting and default: the official busybox image has httpd.
BASE_SETTING = "static.base_image"
DEFAULT_BASE = "busybox:1.37"
#: What serves the tree without a Procfile ``web:`` line.
DEFAULT_WEB = 'exec httpd -f -v -p "$PORT" -h /srv/www'
#: The files whose presence at the root makes a static site.
MARKERS = ("index.html", ".static")

DOCKERFILE = """\
FROM {base}
# The server's own layer: the same for every push, so a push that changes
# only the site reuses it (a static site has no dependencies to install).
RUN mkdir -p /srv/www
COPY . /srv/www
# nobody: the server needs no privilege (it listens on $PORT, above 1024).
USER 65534:65534
{cmd}
"""


# trylast: an app with a package.json or requirements.txt and an index.html is
# a Node or Python app. The Dockerfile plugin is trylast too, and this one
# returns None whenever there is a Dockerfile, so their order does not matter.
@hookimpl(trylast=True)
def detect(app: App, tree: Tree) -> str | None:
    """``index.html`` or ``.static`` at the root, and no Dockerfile, make a static site."""
    names = set(tree.names())
    if "Dockerfile" in names:
        return None
    return APP_TYPE if names.intersection(MARKERS) else None


def dockerfile(base: str, web: str) -> str:
    """The Dockerfile of a static site served by ``web`` from ``base``."""
    from nap_docker.generate import cmd_line

    return DOCKERFILE.format(base=base, cmd=cmd_line(web))


@hookimpl
def build(
    app: App, source: Source, app_type: str, release: Release, settings: Settings, output: Output
) -> Image | None:
    """Generate the Dockerfile and build it through nap's build function."""
    if app_type != APP_TYPE:
        return None
    from nap_docker.build import build_generated
    from nap_docker.generate import check_image_ref, web_command

    base = check_image_ref(settings.get(BASE_SETTING) or DEFAULT_BASE, BASE_SETTING)
    web, origin = web_command(source.path, DEFAULT_WEB)
    note = f"static site from {base} ({BASE_SETTING}); web: {web} ({origin})"
    return build_generated(app, source, release, settings, output, dockerfile(base, web), [note])
