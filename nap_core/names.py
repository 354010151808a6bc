"""Validation of the names users give nap: app names, key names, config keys, domains.

Names are validated, never sanitised: a name that does not match is refused
whole, and paths are only ever built from names that passed. This module uses
only ``re`` so that ``nap shell`` can import it on every SSH command.
"""

from __future__ import annotations

import re

from nap_core.errors import NapError
from nap_core.quoting import shown

APP_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
CONFIG_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CONFIG_KEY_MAX = 255
#: A host name: dot-separated DNS labels, lower case, at least two labels, the
#: last not all digits (so no IP address), 253 characters at most.
DOMAIN = re.compile(
    r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?=[a-z0-9-]*[a-z])[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
#: One DNS label starting with a letter (``localhost``).
LABEL = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")


class InvalidName(NapError):
    """A name given by a user does not follow nap's rules."""


def check_app_name(name: str) -> str:
    """Return ``name`` if it is a valid app name, else raise :class:`InvalidName`.

    Valid: 1 to 63 characters of lower-case letters, digits and hyphens, starting
    and ending with a letter or digit (a DNS label, so it can name containers,
    units, images and hosts alike).
    """
    if not APP_NAME.fullmatch(name):
        raise InvalidName(
            f"invalid app name {shown(name)}: use 1-63 lower-case letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return name


def check_key_name(name: str) -> str:
    """Return ``name`` if it is a valid SSH key name, else raise :class:`InvalidName`."""
    if not KEY_NAME.fullmatch(name):
        raise InvalidName(
            f"invalid key name {shown(name)}: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_config_key(name: str) -> str:
    """Return ``name`` if it can be an environment variable name, else raise."""
    if len(name) > CONFIG_KEY_MAX or not CONFIG_KEY.fullmatch(name):
        raise InvalidName(
            f"invalid config key {shown(name)}: use at most {CONFIG_KEY_MAX} letters, digits "
            "and '_', not starting with a digit"
        )
    return name


def check_domain(domain: str) -> str:
    """Return ``domain`` if it is a valid host name for an app, else raise :class:`InvalidName`."""
    if not DOMAIN.fullmatch(domain):
        raise InvalidName(
            f"invalid domain {domain[:80]!r}: use a lower-case host name such as "
            "www.example.com (letters, digits, hyphens and dots; no wildcard, port or IP)"
        )
    return domain
