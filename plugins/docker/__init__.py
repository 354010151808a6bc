"""What nap's Docker-based plugins share: engine clients, env files, volume
names, probes, image names.

A library, not a plugin: it implements no hook and has no entry point. The core
never imports it; the plugins that talk to a Docker engine (dockerfile, registry,
local, swarm, fleet) do.
"""
