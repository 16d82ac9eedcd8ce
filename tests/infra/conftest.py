"""Shared fixtures for the infrastructure tests."""

import pytest
from infra_cfn import load_template


@pytest.fixture(scope="session")
def template() -> dict:
    """template.yaml, parsed with CloudFormation intrinsics in long form."""
    return load_template()
