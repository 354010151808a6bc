"""nap-node: the Node.js app type for nap, a distribution of its own."""
