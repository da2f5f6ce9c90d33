"""Benchmarks: each measured as a ratio against a baseline taken in the same run."""
