"""The real offline AWS tools accept template.yaml: cfn-lint, sam validate, checkov, sam build.

Each tool runs once per session (module-scoped fixtures) in its own xdist group, so under
`-n 2 --dist loadgroup` the slow ones (checkov, sam build) run on one worker each.
"""

import json
import subprocess

import pytest
from infra_cfn import PROJECT_ROOT, load_template, offline_env, resources_of_type, tool


def run_tool(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run an offline AWS tool from the project root; never reaches AWS."""
    return subprocess.run(
        list(args),
        cwd=PROJECT_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.xdist_group(name="infra_lint")
def test_cfn_lint_reports_nothing():
    result = run_tool(tool("cfn-lint"), "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.xdist_group(name="infra_lint")
def test_sam_validate_lint_is_clean():
    result = run_tool(tool("sam"), "validate", "--lint", "--template-file", "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory) -> dict:
    """checkov's JSON report for template.yaml (one run per session)."""
    result = run_tool(
        tool("checkov"),
        "--file",
        "template.yaml",
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--skip-download",
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


@pytest.mark.xdist_group(name="infra_checkov")
def test_checkov_finds_no_failed_check(checkov_report):
    failed = [
        f"{check['check_id']} {check['resource']}"
        for check in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []
    assert checkov_report["summary"]["passed"] > 50


@pytest.mark.xdist_group(name="infra_checkov")
def test_every_checkov_skip_is_justified_in_the_template(checkov_report):
    template = load_template()
    skipped = checkov_report["results"]["skipped_checks"]
    assert skipped, "expected the documented skips (see Metadata.checkov in template.yaml)"
    for check in skipped:
        logical_id = check["resource"].split(".")[-1]
        skips = template["Resources"][logical_id]["Metadata"]["checkov"]["skip"]
        comment = next(skip["comment"] for skip in skips if skip["id"] == check["check_id"])
        assert len(comment.split()) >= 6, f"{check['check_id']} on {logical_id}: say why"


@pytest.fixture(scope="module")
def sam_build_dir(tmp_path_factory):
    """`sam build` output in a temporary directory (never .aws-sam in the repo)."""
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    cache_dir = build_dir.parent / "cache"
    repo_build_dir_existed = (PROJECT_ROOT / ".aws-sam").exists()
    # --no-cached: samconfig's `cached = true` would otherwise create .aws-sam/deps in the repo.
    result = run_tool(
        tool("sam"),
        "build",
        "--template-file",
        "template.yaml",
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(cache_dir),
        "--no-cached",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if not repo_build_dir_existed:
        assert not (PROJECT_ROOT / ".aws-sam").exists(), "sam build wrote into the repo"
    return build_dir


@pytest.mark.xdist_group(name="infra_build")
def test_sam_build_packages_the_transform_lambda(sam_build_dir):
    (function_id,) = resources_of_type(load_template(), "AWS::Serverless::Function")
    package = sam_build_dir / function_id
    assert (package / "app.py").is_file()
    assert (package / "landing_contract.py").is_file()
    built = load_template(sam_build_dir / "template.yaml")
    assert built["Resources"][function_id]["Properties"]["CodeUri"] == function_id
