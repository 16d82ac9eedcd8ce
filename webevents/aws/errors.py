"""botocore's errors as one-line errors of the caller's own kind, saying what was being done."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def aws_errors(doing: str, error: type[Exception]) -> Iterator[None]:
    """Inside: a botocore error becomes `error("<doing>: <reason>")`, on one line."""
    # botocore and boto3 load only on the AWS paths (boto3 ~150 ms, python -X importtime
    # -c "import boto3"); a local run never calls AWS.
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
    )

    try:
        yield
    except NoCredentialsError:
        raise error(
            f"{doing}: no AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, or run on a role)"
        ) from None
    except NoRegionError:
        raise error(f"{doing}: no AWS Region (set AWS_REGION)") from None
    except ClientError as failure:
        info = failure.response.get("Error", {})
        raise error(
            f"{doing}: {info.get('Code', 'error')}: {info.get('Message', failure)}"
        ) from None
    except BotoCoreError as failure:
        raise error(f"{doing}: {failure}") from None
