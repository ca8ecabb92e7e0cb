"""bedrock-lifecycle: Amazon Bedrock model lifecycle as code on the AWS CDK."""

__version__ = "0.1.0"
