"""nap: git push to deploy.

This package is imported by ``nap shell`` on every SSH command, so it imports
nothing: each module pulls in what it needs.
"""

__version__ = "0.1.0"
