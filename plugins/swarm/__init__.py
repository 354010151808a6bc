"""Docker Swarm scheduler: one Swarm service per app, across the nodes of a swarm."""
