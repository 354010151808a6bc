# Names, addresses and paths of nap's swarm test lab, sourced by the lab scripts.
# They differ from the shared recipe's (/tmp/swarmlab, netns sw*, 10.77.0.0/24), so both can
# exist on one machine.
LAB=/tmp/napswarm            # data: node data roots, registry storage, logs
RUN=/run/napswarm            # sockets, pid files, exec roots
HUB=napsw-hub                # netns holding the bridge and the registry
NET=10.78.0                  # the nodes' /24: hub .1, node N at .1N
LINK=10.78.254               # host <-> hub routed /30
REGISTRY_PORT=5000           # the registry on $NET.1, as the nodes see it
FORWARD_PORT=5078            # 127.0.0.1:5078 -> $NET.1:5000, for the host's engine (loopback = plain HTTP)
NODES="1 2 3"
node_ns() { echo "napsw$1"; }
node_sock() { echo "unix://$RUN/n$1/docker.sock"; }
d() { local i=$1; shift; docker -H "$(node_sock "$i")" "$@"; }
