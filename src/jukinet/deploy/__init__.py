"""Setting up a whole network: the "network init" use case, above the node kinds."""
