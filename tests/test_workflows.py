"""Policies for .github/workflows that actionlint and zizmor do not enforce by themselves."""

import re
from pathlib import Path

import pytest
import yaml

from booktools.book import Paths

ROOT = Paths.from_environment().root

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SHA = re.compile(r"^[^@]+@[0-9a-f]{40}$")


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def test_there_are_workflows():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "publish.yml", "gpu.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_bash_with_pipefail_everywhere(path):
    # `shell: bash` runs steps with `bash -eo pipefail`: a build piped into `tee` still fails
    # the step. GitHub's implicit default shell has no pipefail.
    workflow = load(path)
    assert workflow.get("defaults", {}).get("run", {}).get("shell") == "bash", path.name
    for step in steps(workflow):
        assert step.get("shell", "bash") == "bash", (path.name, step)
        run = step.get("run", "")
        assert not re.search(r"\|\|\s*(true|:)\b", run), f"{path.name}: exit code swallowed"
        assert "set +e" not in run and "set +o pipefail" not in run, path.name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_third_party_actions_are_pinned_to_commits(path):
    for step in steps(load(path)):
        if "uses" in step and not step["uses"].startswith("./"):
            assert SHA.match(step["uses"]), f"{path.name}: {step['uses']} is not pinned to a SHA"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_read_only_by_default_and_no_pull_request_target(path):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}, path.name
    assert "pull_request_target" not in (workflow["on"] or {}), path.name


# Every job that may do more than read the repository, and exactly what more: the deploy jobs,
# the link check and the canary, which keep their tracking issues, and the job that pushes the
# regenerated locks to Dependabot's pull requests.
WIDER_PERMISSIONS = {
    ("publish.yml", "deploy"): {"pages": "write", "id-token": "write"},
    ("publish.yml", "notebooks"): {"contents": "write"},
    ("linkcheck.yml", "linkcheck"): {"contents": "read", "issues": "write"},
    ("canary.yml", "canary"): {"contents": "read", "issues": "write"},
    ("relock.yml", "push"): {"contents": "write"},
}


def test_only_the_jobs_named_here_get_wider_permissions():
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if "permissions" in job:
                assert job["permissions"] == WIDER_PERMISSIONS.get((path.name, name)), (
                    path.name,
                    name,
                )


def test_the_link_check_never_runs_on_a_change_and_reports_through_its_issue():
    # A dead link on someone else's site must not fail a pull request: weekly and by hand only.
    workflow = load(ROOT / ".github" / "workflows" / "linkcheck.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    runs = [s.get("run", "") for s in steps(workflow)]
    check = next(i for i, r in enumerate(runs) if r.strip() == "make linkcheck")
    issue = next(i for i, r in enumerate(runs) if "booktools.linkcheck issue" in r)
    assert check < issue
    issue_step = list(steps(workflow))[issue]
    assert issue_step["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert issue_step["if"] == "${{ !cancelled() }}"  # also after the check found a dead link


def test_the_canary_runs_weekly_on_python_312_and_reports_through_its_issue():
    workflow = load(ROOT / ".github" / "workflows" / "canary.yml")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}  # never on a change
    job_steps = list(steps(workflow))
    setup = next(s for s in job_steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "3.12"
    runs = [s.get("run", "") for s in job_steps]
    canary = next(i for i, r in enumerate(runs) if r.strip() == "make canary")
    issue = next(i for i, r in enumerate(runs) if "booktools.canary issue" in r)
    assert canary < issue
    assert job_steps[issue]["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert job_steps[issue]["if"] == "${{ !cancelled() }}"  # also after the canary failed


def test_no_secret_reaches_a_pull_request_build():
    for path in WORKFLOWS:
        workflow = load(path)
        if "pull_request" in (workflow["on"] or {}):
            assert "secrets." not in path.read_text(encoding="utf-8"), path.name


def test_gpu_workflow_never_runs_a_fork_and_checks_the_gpu_first():
    workflow = load(ROOT / ".github" / "workflows" / "gpu.yml")
    job = workflow["jobs"]["gpu-build"]
    assert job["runs-on"] == ["self-hosted", "linux", "x64", "gpu"]
    assert "head.repo.full_name == github.repository" in job["if"]
    runs = [s.get("run", "") for s in job["steps"]]
    smoke = next(i for i, r in enumerate(runs) if "booktools.gpu_smoke --setup" in r)
    execute = next(i for i, r in enumerate(runs) if "booktools.build" in r)
    assert smoke < execute  # CUDA JAX installed where missing and a GPU seen, before any page
    assert "--execute-only" in runs[execute]
    # host callbacks need a CPU device (jax.debug.print failed under `cuda` on an H200)
    assert job["env"]["JAX_PLATFORMS"] == "cuda,cpu"
    # a page that failed leaves the others exported (exit status 3), and they are checked
    check = next(s for s in job["steps"] if "booktools.outputs check" in s.get("run", ""))
    assert "!cancelled()" in check["if"] and '"3"' in check["if"]
    assert "steps.execute.outputs.status" in check["if"]


def test_pull_requests_get_the_review_in_their_job_summary():
    job = load(ROOT / ".github" / "workflows" / "ci.yml")["jobs"]["test"]
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0, "the review builds the base commit"
    review = next(s for s in job["steps"] if "make review" in s.get("run", ""))
    assert "pull_request" in review["if"] and "!cancelled()" in review["if"]
    assert review["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert "${{" not in review["run"], "the base reaches the script through the environment"
    summary = next(s for s in job["steps"] if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert "_build/review.md" in summary["run"] and "pull_request" in summary["if"]
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-"))
    assert "_build/review.md" in upload["with"]["path"]


def test_the_reader_notebooks_come_from_the_checked_build_and_are_pushed_by_no_code():
    jobs = load(ROOT / ".github" / "workflows" / "publish.yml")["jobs"]
    build = [s.get("run", "") for s in jobs["build"]["steps"]]
    checks = next(i for i, r in enumerate(build) if r.strip() == "bash .ci/run")
    notebooks = next(i for i, r in enumerate(build) if "booktools.notebooks" in r)
    assert checks < notebooks, "the notebooks are made from the executed pages the checks passed"
    assert "--binder" in build[notebooks], "Binder opens the notebooks branch: it needs .binder/"
    upload = next(
        s
        for s in jobs["build"]["steps"]
        if s.get("uses", "").startswith("actions/upload-artifact@")
        and s["with"]["name"] == "notebooks"
    )
    assert upload["with"]["include-hidden-files"] is True  # .binder/
    push = jobs["notebooks"]
    assert push["needs"] == "build"
    runs = "\n".join(step.get("run", "") for step in push["steps"])
    assert "python" not in runs and "make" not in runs.split() and "pip" not in runs
    assert not any(s.get("uses", "").startswith("actions/checkout@") for s in push["steps"])


DEPENDABOT = "github.event.pull_request.user.login == 'dependabot[bot]'"
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"


def test_dependabot_proposes_grouped_weekly_updates_and_holds_jupyter_book_below_2():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(updates) == {"github-actions", "pip"}
    for update in updates.values():
        assert update["directory"] == "/" and update["schedule"]["interval"] == "weekly"
        assert [group["patterns"] for group in update["groups"].values()] == [["*"]]
    held = {rule["dependency-name"]: rule["versions"] for rule in updates["pip"]["ignore"]}
    assert held == {"jupyter-book": [">=2"]}  # the book is a Jupyter Book 1 (ARCHITECTURE.md)


def test_the_locks_of_dependabots_pull_requests_are_regenerated_where_nothing_else_writes():
    workflow = load(ROOT / ".github" / "workflows" / "relock.yml")
    # every file from which `make lock` resolves, and only on pull requests
    assert set(workflow["on"]) == {"pull_request"}
    assert set(workflow["on"]["pull_request"]["paths"]) == {
        "requirements.txt",
        "requirements-installer.in",
        "requirements-reader.in",
        "pyproject.toml",
    }
    jobs = workflow["jobs"]
    for job in jobs.values():  # Dependabot's pull requests from this repository, nothing else
        assert DEPENDABOT in job["if"] and SAME_REPOSITORY in job["if"]
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
                assert step["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
    relock, push = jobs["relock"], jobs["push"]
    assert "permissions" not in relock  # the workflow's read-only token
    assert any(step.get("run", "").startswith("make lock") for step in relock["steps"])
    # the job that can write runs no code of the repository: it copies the two locks, commits
    # and pushes them
    assert push["needs"] == "relock" and "needs.relock.outputs.changed == 'true'" in push["if"]
    runs = "\n".join(step.get("run", "") for step in push["steps"])
    assert "make" not in runs.split() and "python" not in runs and "pip" not in runs
    assert "requirements.lock" in runs and ".binder/requirements.txt" in runs
    assert "${{" not in runs, "the branch reaches the script through the environment"
