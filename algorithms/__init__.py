"""The math of the suite: data types, policies, rollouts, TRPO and the imitation algorithms.

Nothing here touches files or W&B; the harness in `benchmark/` does.
"""
