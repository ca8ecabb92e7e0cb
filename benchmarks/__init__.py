"""Benchmarks, each against its baseline: ``python -m benchmarks`` runs them all."""
