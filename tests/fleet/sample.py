"""A fixed sample release for the fleet plugin's unit tests: same input, same units."""

from __future__ import annotations

from pathlib import Path

from nap_core.config import Settings
from nap_core.model import App, AppConfig, Image, Release

GOLDEN = Path(__file__).parent / "golden"
APP = App("shop")
DIGEST = "sha256:" + "ab" * 32
IMAGE = Image(
    app=APP,
    id="sha256:" + "cd" * 32,
    tag="127.0.0.1:5000/shop:3",
    ports=(8080,),
    env=(("PORT", "8080"),),
    repository="127.0.0.1:5000/shop",
    digest=DIGEST,
    volumes=("/var/lib/shop",),
)
RELEASE = Release(
    app=APP,
    number=3,
    revision="0123456789abcdef0123456789abcdef01234567",
    tree="fedcba9876543210fedcba9876543210fedcba98",
    config_digest="",
    scheduler="fleet",
)
#: Config vars with the characters systemd quoting must survive.
CONFIG = AppConfig.from_mapping(
    {"DATABASE_URL": "postgres://shop:s3cret@db/shop", "GREETING": 'say "hi" 100% \\o/'}
)


def settings(home: Path, **fleet: str) -> Settings:
    """Settings for the sample: scheduler fleet, machines pull from 10.77.0.1:5000."""
    values = {"registry": "10.77.0.1:5000", "metadata": "role=web", **fleet}
    return Settings(
        home=home,
        file_values={
            "scheduler": "fleet",
            "registry": "127.0.0.1:5000",
            "host": "nap.example.com",
            "fleet": {"endpoint": "http://fleet.example.com:49153", **values},
        },
        environ={},
    )
