"""nap-static: the static-site app type for nap, a distribution of its own."""
