"""What nap's Docker-based plugins share: engine clients, env files, volume
names, probes, image names, and the build of every app type (``build``, with
``generate`` for app types that generate a Dockerfile).

A library, not a plugin: it implements no hook and has no entry point. The core
never imports it; the plugins that talk to a Docker engine (dockerfile, registry,
local, swarm, fleet) and the contrib app types (nap-python, nap-node,
nap-static) do.
"""
