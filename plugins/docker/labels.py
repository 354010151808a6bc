"""The labels nap puts on the containers, services and volumes it makes, so
that it finds them again on the engine (by app, by release) without a record
of its own."""

LABEL_APP = "nap.app"
LABEL_RELEASE = "nap.release"
