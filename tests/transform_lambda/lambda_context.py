"""A small stand-in for the Lambda context object the runtime passes to the handler."""

from dataclasses import dataclass


@dataclass
class LambdaContext:
    function_name: str = "webevents-transform-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:webevents-transform-test"
    )
    aws_request_id: str = "6f3c9a1e-0000-4000-8000-000000000001"
