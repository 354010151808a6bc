"""nap's bundled router: Caddy in front of every app (stable addresses, HTTPS)."""
