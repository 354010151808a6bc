"""nap's configuration: ``NAP_HOME/nap.toml`` overridden by environment variables.

A top-level key ``scheduler`` is overridden by ``NAP_SCHEDULER``; a key in a
section, ``[fleet] endpoint``, by ``NAP_FLEET_ENDPOINT``. docs/configuration.md
lists every key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from nap_core.errors import NapError
from nap_core.paths import checked_number, default_home, home_from, repo_path

__all__ = ["DEFAULTS", "Settings", "default_home", "home_from"]

#: The top-level keys and their defaults, as strings the way an environment gives them.
DEFAULTS: dict[str, str] = {
    "scheduler": "local",
    "registry": "127.0.0.1:5000",
    "host": "127.0.0.1",
    "deploy_timeout": "30",
    "port": "5000",
    "branches": "master,main",
    "keep_releases": "5",
    "stop_timeout": "10",
    "replicas": "1",
    "release_timeout": "300",
    "run_timeout": "3600",
    "max_ports": "16",
    "max_push_size": str(512 << 20),
    "max_tree_size": str(1 << 30),
    "max_tree_files": "100000",
    "max_read_size": str(1 << 20),
    "build_timeout": "900",
    "publish_timeout": "300",
    "publish_first": "false",
    "engine_timeout": "30",
    "lock_timeout": "1800",
    "session_timeout": "60",
    "router": "caddy",
}

#: The router's keys (``[router]`` in nap.toml, ``NAP_ROUTER_*``) and their defaults.
ROUTER_DEFAULTS: dict[str, str] = {
    "router.domain": "localhost",
    "router.http_port": "80",
    "router.https_port": "443",
    "router.https_redirect": "true",
    "router.drain": "10",
    "router.admin_timeout": "10",
    "router.acme_email": "",
    "router.acme_ca": "https://acme-v02.api.letsencrypt.org/directory",
    "router.acme_ca_root": "",
    "local.publish_ports": "false",
}


@attrs.frozen
class Settings:
    """The configuration in force: the file's values with the environment's on top."""

    home: Path
    file_values: Mapping[str, Any] = attrs.field(factory=dict)
    environ: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``NAP_HOME/nap.toml`` (if present) and the environment."""
        env = dict(os.environ if environ is None else environ)
        home = home_from(env)
        path = home / "nap.toml"
        values: dict[str, Any] = {}
        if path.exists():
            try:
                values = tomllib.loads(path.read_text())
            except tomllib.TOMLDecodeError as exc:
                raise NapError(f"cannot read {path}: {exc}; fix the file") from exc
        return cls(home=home, file_values=values, environ=env)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of ``key`` (``"scheduler"`` or ``"fleet.endpoint"``) as a string."""
        env_name = "NAP_" + key.replace(".", "_").upper()
        if env_name in self.environ:
            return self.environ[env_name]
        node: Any = self.file_values
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return DEFAULTS.get(key, ROUTER_DEFAULTS.get(key, default))
            node = node[part]
        if isinstance(node, list):
            return ",".join(str(item) for item in node)
        return str(node).lower() if isinstance(node, bool) else str(node)

    def require(self, key: str) -> str:
        """The value of ``key``, or an error that says how to set it."""
        value = self.get(key)
        if value is None or value == "":
            env_name = "NAP_" + key.replace(".", "_").upper()
            raise NapError(f"{key} is not configured: set it in nap.toml or as {env_name}")
        return value

    def number(self, key: str, default: float | None = None) -> float:
        """The value of ``key`` as a number."""
        value = self.get(key)
        if value is None:
            if default is None:
                return float(self.require(key))
            return default
        return checked_number(key, str(value))

    def items(self, key: str) -> list[str]:
        """The value of ``key`` as a comma-separated list."""
        value = self.get(key) or ""
        return [part.strip() for part in value.split(",") if part.strip()]

    # The keys every part of nap uses, by name.

    @property
    def scheduler(self) -> str:
        """The scheduler plugin that renders, places and checks releases."""
        return self.require("scheduler")

    @property
    def registry(self) -> str:
        """The registry nap publishes images to, ``HOST:PORT``."""
        return self.require("registry")

    @property
    def host(self) -> str:
        """The address apps are published on and reported at (local scheduler)."""
        return self.require("host")

    @property
    def deploy_timeout(self) -> float:
        """Seconds a new release has to answer before the deploy fails."""
        return self.number("deploy_timeout")

    @property
    def default_port(self) -> int:
        """The ``$PORT`` an app without EXPOSE must listen on."""
        return int(self.number("port"))

    @property
    def branches(self) -> list[str]:
        """The branches whose pushes deploy."""
        return self.items("branches")

    def flag(self, key: str) -> bool:
        """The value of ``key`` as a boolean (``true``/``false``, ``1``/``0``, ``yes``/``no``)."""
        value = (self.get(key) or "").lower()
        if value in ("true", "1", "yes", "on"):
            return True
        if value in ("false", "0", "no", "off", ""):
            return False
        raise NapError(f"{key} must be true or false, not {value!r}")

    @property
    def router(self) -> str:
        """The router in front of the apps, or ``"none"``."""
        return self.get("router") or "none"

    def repo_path(self, app: str) -> Path:
        """The bare repository of a (validated) app name."""
        return repo_path(self.home, app)

    def app_dir(self, app: str) -> Path:
        """The state directory of an app: releases, env files."""
        return self.home / "apps" / app

    def release_dir(self, app: str, number: int) -> Path:
        """Where a release's units, build log and environment file are kept."""
        return self.app_dir(app) / "releases" / str(number)
