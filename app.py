#!/usr/bin/env python3
"""CDK entry point: one stack per environment of the lifecycle file.

The file comes from the CDK context value ``lifecycle`` (cdk.json), overridable
with ``cdk synth -c lifecycle=path/to/file.yaml``.
"""

from bedrock_lifecycle.app import main

if __name__ == "__main__":
    main()
