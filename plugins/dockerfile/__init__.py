"""The Dockerfile app type: an app with a Dockerfile at its root."""
