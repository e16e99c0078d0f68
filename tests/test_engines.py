"""The one adapter for external programs: a missing git or dvc, or a failing command, is a
user error that names the program (exit 1), never a bug report (exit 3)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from mlform.engines import process
from mlform.engines.dvc import read_lock
from mlform.engines.git import Git
from mlform.errors import UserError
from tests.conftest import copy_example
from tests.pipeline_helpers import BIN, git

DVC = BIN / "dvc"


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python whose folder holds nothing else (no dvc beside it) that imports this
    checkout's mlform and its dependencies."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    here = sysconfig.get_paths()["purelib"]
    (site / "mlform-under-test.pth").write_text(f"import site; site.addsitedir({here!r})\n")
    return venv / "bin" / "python"


def run(python: Path, *args: str, cwd: Path, path: list[Path]) -> subprocess.CompletedProcess[str]:
    """``python -m mlform ARGS`` with exactly ``path`` as PATH."""
    env = {
        "PATH": os.pathsep.join(str(p) for p in path),
        "HOME": str(cwd),
        "MLFORM_LOG_DIR": str(cwd / "crash-logs"),
    }
    return subprocess.run(
        [str(python), "-m", "mlform", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def only(tmp_path: Path, *programs: Path) -> Path:
    """A folder holding only these programs (symlinks)."""
    folder = tmp_path / "only"
    folder.mkdir(exist_ok=True)
    for program in programs:
        (folder / program.name).symlink_to(program)
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The credit-risk example as a git + DVC repository with one commit."""
    root = copy_example("credit-risk", tmp_path / "credit-risk")
    git("init", "-q", cwd=root)
    subprocess.run([str(DVC), "init", "-q"], cwd=root, check=True)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "specs", cwd=root)
    return root


def assert_names(done: subprocess.CompletedProcess[str], program: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Error: {program} is not installed or not on PATH" in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "bug in mlform" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("plan",),
        ("status",),
        ("apply", "--auto-approve"),
        ("destroy", "--auto-approve"),
        ("reconcile",),
        ("models", "list"),
        ("models", "show", "credit-risk"),
        ("retrain", "run", "credit-risk"),
    ],
    ids=" ".join,
)
def test_commands_that_need_git_say_so_without_it(
    args: tuple[str, ...], bare_python: Path, project: Path, tmp_path: Path
) -> None:
    done = run(bare_python, *args, cwd=project, path=[only(tmp_path, DVC)])
    assert_names(done, "git")


def test_init_without_git_says_so_and_how_to_skip_it(bare_python: Path, tmp_path: Path) -> None:
    done = run(bare_python, "init", "demo", cwd=tmp_path, path=[only(tmp_path, DVC)])
    assert_names(done, "git")
    assert "Or pass --no-git to skip git init and dvc init." in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("experiments", "show"),
        ("metrics", "diff"),
        ("models", "register", "credit-risk"),
    ],
    ids=" ".join,
)
def test_commands_that_need_dvc_say_so_without_it(
    args: tuple[str, ...], bare_python: Path, project: Path, tmp_path: Path
) -> None:
    (project / "artifacts/models/credit-risk").mkdir(parents=True)
    for name in ("review.json", "model.onnx"):  # registration asks DVC first
        (project / "artifacts/models/credit-risk" / name).write_text("{}")
    git_program = Path(process.find("git") or "/usr/bin/git")
    done = run(bare_python, *args, cwd=project, path=[only(tmp_path, git_program)])
    assert_names(done, "dvc")
    assert "DVC is installed with mlform" in done.stderr


def test_validate_and_compile_need_neither(bare_python: Path, tmp_path: Path) -> None:
    root = copy_example("credit-risk", tmp_path / "credit-risk")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(bare_python, "validate", cwd=root, path=[empty]).returncode == 0
    done = run(bare_python, "compile", cwd=root, path=[empty])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert (root / "dvc.yaml").is_file()


def test_compile_outside_a_git_repository_renders_without_git_errors(
    tmp_path: Path,
) -> None:
    root = copy_example("diabetes-regression", tmp_path / "diabetes")  # a Triton Deployment
    done = subprocess.run(
        [str(BIN / "mlform"), "compile"], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    assert "fatal" not in done.stdout and "not a git repository" not in done.stdout
    assert (
        "note: Deployment 'diabetes-triton' (triton) is not rendered: Model "
        "'diabetes-progression' has no registered version that passed review" in done.stdout
    )


def test_a_failing_command_shows_the_command_and_its_last_lines(tmp_path: Path) -> None:
    with pytest.raises(process.CommandFailed) as failed:
        process.run("git", ["rev-parse", "--verify", "no-such-ref"], cwd=tmp_path)
    message = failed.value.message
    assert message.startswith("`git rev-parse --verify no-such-ref` failed (exit 128):\n  ")
    assert "not a git repository" in message
    assert isinstance(failed.value, UserError)


def test_a_missing_program_is_a_user_error_with_a_hint() -> None:
    with pytest.raises(process.ProgramMissing) as missing:
        process.run("mlform-no-such-program", ["--version"])
    assert missing.value.message == "mlform-no-such-program is not installed or not on PATH"
    assert missing.value.hint == "Install mlform-no-such-program and make sure it is on PATH."


def test_git_answers_outside_a_repository(tmp_path: Path) -> None:
    assert Git(tmp_path).toplevel() is None
    assert Git(tmp_path).head() is None
    git("init", "-q", cwd=tmp_path)
    assert Git(tmp_path).toplevel() == tmp_path.resolve()
    assert Git(tmp_path).head() is None  # no commit yet
    with pytest.raises(UserError, match="must be a git repository with a first commit"):
        Git(tmp_path).require_head("a version is a tag on a commit")


def test_commit_and_branch_commit(tmp_path: Path) -> None:
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "b.txt").write_text("b\n")
    repo = Git(tmp_path)
    first = repo.commit(["a.txt"], "a")
    assert repo.head() == first
    assert repo.status(["a.txt", "b.txt"]) == ["b.txt"]  # untracked, not committed
    (tmp_path / "a.txt").write_text("a2\n")
    commit = repo.branch_commit("proposal", ["a.txt"], "a2", tmp_path / "scratch-index")
    assert repo.head() == first  # the current branch did not move
    assert repo.run("show", f"{commit}:a.txt") == "a2\n"
    assert repo.status(["a.txt"]) == ["a.txt"]  # the work tree is as it was
    assert not (tmp_path / "scratch-index").exists()


def test_dvc_lock_is_read_one_way(tmp_path: Path) -> None:
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  check-credit:\n    cmd: mlform stage check credit\n"
        "    deps:\n    - path: data/credit.csv\n      md5: 0c9e3a1f\n      size: 10\n"
        "    outs:\n    - path: artifacts/checks.json\n      md5: abcd1234\n"
    )
    stage = read_lock(tmp_path).stage("check-credit")
    dep, out = stage.dep("data/credit.csv"), stage.out("artifacts/checks.json")
    assert dep is not None and dep.md5 == "0c9e3a1f"
    assert out is not None and out.md5 == "abcd1234"
    assert read_lock(tmp_path).stage("no-such-stage").deps == ()
    (tmp_path / "dvc.lock").write_text("stages: [unterminated\n")
    assert read_lock(tmp_path).stages == {}
