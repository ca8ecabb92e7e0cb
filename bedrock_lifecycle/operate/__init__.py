"""``bedrock-lifecycle history`` and ``audit``: what served, and what answered, read back.

Both read what the stacks wrote (the version manifest's SSM history, the audit log
group) with the caller's AWS credentials, bounded in time and results; without
credentials each says so in one line (exit 2). docs/operations.md shows them at work.
"""
