"""nap-python: the Python app type for nap, a distribution of its own."""
