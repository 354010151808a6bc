"""The ``nap`` command's front door: the composition root of the distribution.

The core (:mod:`nap_core`) knows no plugin by name, and plugins are found
through entry points. Two things cannot wait for that discovery, so they are
wired here, the one place that names bundled plugins: ``nap shell`` (sshd runs
it for every SSH command, and it must start in a few milliseconds) goes straight
to gitshell's forced command; and root's commands switch to the owner of
``NAP_HOME`` before anything else runs.
"""
