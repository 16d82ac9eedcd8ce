"""A deployed stack as the commands see it: its name per samconfig environment, its outputs
and parameters (CloudFormation DescribeStacks), and the upload of the daily job's source.

`python -m webevents.aws.stack ENV` prints the stack name of a samconfig.toml environment, so
the Makefile's `upload-source` and `smoke` address the stack `make deploy` created.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webevents import PROJECT_ROOT

SAMCONFIG = PROJECT_ROOT / "samconfig.toml"


class StackError(RuntimeError):
    """The stack cannot be used: one line naming what is missing and what to do."""


def stack_name(config_env: str, samconfig: Path = SAMCONFIG) -> str:
    """The stack_name of a samconfig.toml environment (`default` is dev)."""
    with samconfig.open("rb") as handle:
        config = tomllib.load(handle)
    try:
        return config[config_env]["global"]["parameters"]["stack_name"]
    except KeyError:
        known = ", ".join(sorted(k for k in config if isinstance(config[k], dict)))
        raise StackError(
            f"no environment {config_env!r} in {samconfig.name}; known: {known}"
        ) from None


@dataclass(frozen=True)
class Stack:
    """Outputs and parameter values of one deployed stack."""

    name: str
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise StackError(
                f"stack {self.name} has no output {key}: it was deployed from another "
                "template version; redeploy it (docs/operations.md, first deploy)"
            ) from None


def describe(cloudformation: Any, name: str) -> Stack:
    """The stack's outputs and parameters; a one-line StackError if it is not usable."""
    # boto3/botocore load in ~150 ms (python -X importtime); `python -m webevents.aws.stack ENV`
    # only reads samconfig.toml and must stay quick.
    from botocore.exceptions import ClientError

    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        raise StackError(
            f"stack {name}: {message} (deploy it first: `make deploy`, or pass --region)"
        ) from None
    status = stack["StackStatus"]
    if not status.endswith("_COMPLETE") or status.startswith(("DELETE", "ROLLBACK")):
        raise StackError(f"stack {name} is {status}; wait for or fix the deploy first")
    return Stack(
        name=name,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        parameters={
            p["ParameterKey"]: p.get("ResolvedValue", p.get("ParameterValue", ""))
            for p in stack.get("Parameters", [])
        },
    )


def split_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/key -> (bucket, key)."""
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise StackError(f"not an s3://bucket/key location: {url!r}")
    bucket, key = url[5:].split("/", 1)
    return bucket, key


def upload_source(s3: Any, stack: Stack, zip_path: Path) -> str:
    """Put the project zip at the stack's BuildSourceLocation; the location it went to.

    The bucket's default encryption (the stack's KMS key) applies and the bucket is
    versioned, so a bad upload is undone by restoring the previous version.
    """
    location = stack.output("BuildSourceLocation")
    bucket, key = split_s3_url(location)
    body = zip_path.read_bytes()
    if not body.startswith(b"PK"):
        raise StackError(f"{zip_path} is not a zip file (CodeBuild's S3 source must be one)")
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/zip")
    return location


def upload_source_command(args: Any) -> int:
    """`webevents upload-source --stack NAME ZIP`: the daily job's source, to its bucket."""
    import boto3  # lazily, as describe() above

    session = boto3.session.Session(region_name=args.region)
    try:
        stack = describe(session.client("cloudformation"), args.stack)
        location = upload_source(session.client("s3"), stack, Path(args.zip))
    except (StackError, OSError) as error:
        print(f"upload-source: {error}", file=sys.stderr)
        return 1
    print(f"uploaded {args.zip} to {location}")
    return 0


if __name__ == "__main__":
    try:
        print(stack_name(sys.argv[1] if len(sys.argv) > 1 else "default"))
    except StackError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
