"""Benchmarks of the simulator: `python -m bench` (docs/performance.md) and the accuracy scripts."""
