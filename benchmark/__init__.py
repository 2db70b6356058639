"""The harness: tasks, runs, sweeps, tracking and reports."""
