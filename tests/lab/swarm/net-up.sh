#!/bin/bash
# Network: netns napsw-hub holds bridge napswbr0 (10.78.0.1/24); nodes napsw1..3 at 10.78.0.11-13.
# The host reaches the lab through a routed veth pair (10.78.254.1/30 <-> .2). The bridge has its
# own netns because the default dockerd's br_netfilter + FORWARD DROP would drop inter-node frames
# on a host bridge. No namespace gets a default route: nothing leaves the machine.
set -euo pipefail
. "$(dirname "$0")/common.sh"
ip netns add $HUB
ip -n $HUB link set lo up
ip -n $HUB link add napswbr0 type bridge
ip -n $HUB addr add $NET.1/24 dev napswbr0
ip -n $HUB link set napswbr0 up
ip netns exec $HUB sysctl -qw net.ipv4.ip_forward=1
ip link add napsw-host type veth peer name napsw-hubv netns $HUB
ip addr add $LINK.1/30 dev napsw-host
ip link set napsw-host up
ip -n $HUB addr add $LINK.2/30 dev napsw-hubv
ip -n $HUB link set napsw-hubv up
ip route add $NET.0/24 via $LINK.2 dev napsw-host
for i in $NODES; do
  ns=$(node_ns "$i")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "napsw$i-p" netns $HUB type veth peer name eth0 netns "$ns"
  ip -n $HUB link set "napsw$i-p" master napswbr0
  ip -n $HUB link set "napsw$i-p" up
  ip -n "$ns" addr add "$NET.1$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add $LINK.0/30 via $NET.1
done
