"""Benchmarks of the budgets: python -m bench (see bench/README.md)."""
