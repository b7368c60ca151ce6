"""The reliability suite: faults injected on the real rig, concurrency, secrets and permissions."""
