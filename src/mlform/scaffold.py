"""`mlform init`: a new spec repository, or a copy of a shipped example."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mlform.engines.dvc import Dvc
from mlform.engines.git import Git
from mlform.errors import UserError
from mlform.fsutil import write_all
from mlform.package_data import resource_dir
from mlform.schema_export import COMBINED, schemas

MODELINE = re.compile(r"^# yaml-language-server: \$schema=.*$", re.MULTILINE)
IGNORED = shutil.ignore_patterns("artifacts", ".dvc", "dvc.lock", "__pycache__", "*.pyc", "deploy")

PROJECT_TEMPLATE = """\
# yaml-language-server: $schema=schemas/{combined}
apiVersion: mlform/v1
kind: Project
metadata:
  name: {name}
spec:
  specs: [ml]
  artifacts: artifacts
  defaults:
    seed: 42
    target: local
"""

PRE_COMMIT = """\
repos:
  - repo: local
    hooks:
      - id: mlform-validate
        name: mlform validate
        entry: mlform validate
        language: system
        pass_filenames: false
        files: \\.ya?ml$
      - id: mlform-compile-check
        name: mlform compile --check
        entry: mlform compile --check
        language: system
        pass_filenames: false
        files: \\.ya?ml$
"""

# Cached DVC outputs get their own .gitignore from DVC; metrics, reports and model cards are
# meant to be committed. Only mlform's local model store stays out of git.
GITIGNORE = "/.mlform/\n"


def examples() -> list[str]:
    return sorted(
        p.name for p in resource_dir("examples").iterdir() if (p / "mlform.yaml").is_file()
    )


def project_name(directory: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-")
    return name[:63].strip("-") or "ml-project"


def init(
    directory: Path, *, example: str | None = None, force: bool = False, vcs: bool = True
) -> list[str]:
    """Create a project in ``directory``; return the files created, relative to it."""
    if directory.exists() and any(directory.iterdir()) and not force:
        raise UserError(f"{directory} is not empty", hint="Use --force to write into it anyway.")
    if (directory / "mlform.yaml").exists() and not force:
        raise UserError(f"{directory} already holds an mlform project")
    if example is not None:
        available = examples()
        if example not in available:
            raise UserError(f"unknown example '{example}'; available: {', '.join(available)}")
        shutil.copytree(
            resource_dir("examples") / example, directory, ignore=IGNORED, dirs_exist_ok=True
        )
        _point_modelines(directory)
        if not (directory / ".gitignore").exists():
            write_all([(directory / ".gitignore", GITIGNORE.encode())])
    else:
        files = {
            "mlform.yaml": PROJECT_TEMPLATE.format(name=project_name(directory), combined=COMBINED),
            "ml/.gitkeep": "",
            ".gitignore": GITIGNORE,
            ".pre-commit-config.yaml": PRE_COMMIT,
        }
        write_all((directory / path, text.encode()) for path, text in files.items())
    write_all((directory / "schemas" / name, text.encode()) for name, text in schemas().items())
    created = sorted(
        p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()
    )
    if vcs:
        init_repositories(directory)
    return created


CI_FILES = {"github": ".github/workflows/mlform.yml", "gitlab": ".gitlab-ci.yml"}


def write_ci(directory: Path, system: str, environment: str | None, branch: str = "main") -> Path:
    """A CI workflow: validate, plan (and comment it) on pull requests; apply on ``branch``.

    The workflow is written at the git repository's root; the project may be a subfolder.
    """
    from mlform.render import render

    root = Git(directory).toplevel() or directory
    project = directory.resolve().relative_to(root.resolve()).as_posix() or "."
    text = render(
        f"ci/{system}.yml.j2",
        branch=branch,
        project=project,
        env_name=environment or "default",
        env_flag=f" --env {environment}" if environment else "",
    )
    path = root / CI_FILES[system]
    write_all([(path, text.encode())])
    return path


def init_repositories(directory: Path) -> None:
    """git init (unless already inside a work tree) and dvc init (unless DVC is set up).

    A repository created here gets a first commit, "mlform init", so that versions can be
    tagged on it right away (with mlform's name when git has no identity configured).
    """
    git = Git(directory)
    try:
        top = git.toplevel()
        created = top is None
        if created:
            git.init()
            top = directory.resolve()
        assert top is not None
        here = directory.resolve()
        if not any(
            (folder / ".dvc").is_dir()
            for folder in (here, *here.parents)
            if folder.is_relative_to(top)
        ):
            Dvc(directory).init(subdir=here != top)
        if created:
            git.commit_all("mlform init")
    except UserError as error:
        skip = "Or pass --no-git to skip git init and dvc init."
        raise UserError(error.message, hint=f"{error.hint} {skip}".strip()) from None


def _point_modelines(directory: Path) -> None:
    """Editor schema lines of a copied example point at the schemas written beside it."""
    for path in directory.rglob("*.y*ml"):
        text = path.read_text(encoding="utf-8")
        if not MODELINE.search(text):
            continue
        depth = len(path.relative_to(directory).parts) - 1
        target = "../" * depth + f"schemas/{COMBINED}"
        path.write_text(
            MODELINE.sub(f"# yaml-language-server: $schema={target}", text), encoding="utf-8"
        )
