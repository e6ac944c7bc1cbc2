"""The networks and where they run: VGG-16's features, its weights and where they come from,
the painted start's feed-forward network, the compute device and the network's canvas."""
