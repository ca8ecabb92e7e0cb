"""Modules both sides use: the CDK constructs import them as ``bedrock_lifecycle.shared``,
and every Lambda asset gets a copy of each at synth (``import contract``), so that what
the two sides must agree on is written once (docs/architecture.md)."""
