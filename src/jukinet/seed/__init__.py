"""Synthetic but realistic data for demonstrations, tests and benchmarks."""
