"""Before any work: the sizes, tiles, time and memory of a run, from this machine's measured
speed and memory."""
