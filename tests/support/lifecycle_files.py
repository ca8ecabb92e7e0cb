"""Lifecycle files the tests and benchmarks write, named once."""

from __future__ import annotations

# One environment, one family, one version, one alias: the smallest valid file.
MINIMAL = """schema_version: 1
environments:
  dev: {}
families:
  summarizer:
    versions:
      v1:
        target: {foundation_model: anthropic.claude-3-haiku-20240307-v1:0}
    aliases:
      live: {version: v1}
"""
