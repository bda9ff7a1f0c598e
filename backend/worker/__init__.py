"""`slmgen worker`: the processes that run tasks. A supervisor runs one Huey consumer per queue it takes (each
with its own pool of worker processes), restarts any that die, and sweeps for lost tasks (recovery)."""
