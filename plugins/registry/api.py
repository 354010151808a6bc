"""The registry's HTTP API (distribution v2), for what the docker SDK cannot do:
deleting a manifest. A registry that has deletion disabled answers 405: the
image then stays in the registry, and nap says so, not as an error.
"""

from __future__ import annotations

import http.client
import ssl
import urllib.error
import urllib.request

from nap_core.errors import PublishFailed
from nap_core.output import Output

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def registry_url(registry: str) -> str:
    """The registry's base URL: plain HTTP on loopback (as the engine allows), else HTTPS."""
    host = registry.rsplit(":", 1)[0]
    scheme = "http" if host in ("127.0.0.1", "localhost", "[::1]") else "https"
    return f"{scheme}://{registry}"


def delete_manifest(repository: str, digest: str, output: Output | None = None) -> bool:
    """Delete the manifest ``repository@digest`` (``REGISTRY/NAME``); True if it is gone."""
    registry, _, name = repository.partition("/")
    # The URL is built from nap's own registry setting, always http(s).
    request = urllib.request.Request(  # noqa: S310
        f"{registry_url(registry)}/v2/{name}/manifests/{digest}",
        method="DELETE",
        headers={"Accept": MANIFEST_TYPES},
    )
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - nap's own registry
            return True
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return True
        if output is not None:
            reason = "deletion is disabled there" if exc.code == 405 else f"HTTP {exc.code}"
            output.line(f"kept {repository}@{digest[:19]} in the registry: {reason}")
        return False
    except OSError as exc:
        if output is not None:
            output.line(f"could not reach the registry {registry} to delete an image: {exc}")
        return False


def check_answers(registry: str, timeout: float) -> None:
    """Ask the registry's ``/v2/`` once, before the engine pushes to it.

    The engine's own first request to a registry that hangs (a stopped process
    accepts connections but never answers) gives up only after about 25 s, with
    "context deadline exceeded"; this asks with a short deadline and says what to
    check. Any HTTP answer counts (401 from a registry with auth, a certificate
    this process does not trust but the engine may): only silence or a refusal fails.

    :raise PublishFailed: the registry did not answer within ``timeout`` seconds.
    """
    url = f"{registry_url(registry)}/v2/"
    check = f"check that it is running and not stopped: `curl {url}` must answer"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # as the engine goes
    try:
        with direct.open(url, timeout=timeout):
            return
    except urllib.error.HTTPError:
        return
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ssl.SSLError):
            return
        reason = exc.reason
    except (TimeoutError, ConnectionError) as exc:
        reason = exc
    except (ssl.SSLError, http.client.HTTPException):  # something answered
        return
    if isinstance(reason, TimeoutError):
        raise PublishFailed(f"the registry {registry} did not answer within {timeout:g} s; {check}")
    raise PublishFailed(f"cannot reach the registry {registry} ({reason}); {check}")
