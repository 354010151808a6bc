"""nap's git side: bare repositories, the pre-receive hook, intake and fetch.

This package's ``__init__`` imports nothing, so ``nap shell`` can use its
modules without paying for pluggy, GitPython or the docker SDK.
"""
