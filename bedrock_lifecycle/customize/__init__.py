"""Customization jobs declared in ``custom_models:`` (``bedrock-lifecycle customize``).

:mod:`.jobs` submits and follows them with injected boto3 clients; :mod:`.cli`
is the command. docs/fine-tuning.md is the runbook.
"""
