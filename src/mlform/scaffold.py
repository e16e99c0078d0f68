"""`mlform init`: a new spec repository, or a copy of a shipped example."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mlform.editor_settings import SETTINGS, merged_settings, read_settings, schema_globs
from mlform.engines.dvc import Dvc
from mlform.engines.git import Git
from mlform.errors import UserError
from mlform.fsutil import write_all
from mlform.package_data import resource_dir
from mlform.schema_export import COMBINED, schemas

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(?:.*/)?([^/\n]*)$", re.MULTILINE)
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

# What each checkout keeps for itself: mlform's local folder (servers, monitor runs, the model
# store), the pipeline's outputs and the rendered cluster deployments. Outputs travel through
# the DVC remote and its run-cache; a registered version's tag is a commit that holds its
# dvc.lock and reports; cluster manifests are published on a deploy branch.
GITIGNORE = """\
# mlform: what each checkout keeps for itself (outputs travel through the DVC remote)
/.mlform/
/{artifacts}/
/{deploy}/
"""


def examples() -> list[str]:
    return sorted(
        p.name for p in resource_dir("examples").iterdir() if (p / "mlform.yaml").is_file()
    )


def project_name(directory: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-")
    return name[:63].strip("-") or "ml-project"


def init(
    directory: Path,
    *,
    example: str | None = None,
    force: bool = False,
    vcs: bool = True,
    subproject: bool = False,
) -> list[str]:
    """Create a project in ``directory``; return the files created, relative to it.

    With ``vcs`` the project is a git repository of its own (branch ``main``, a first
    commit), even inside another repository; ``subproject`` makes it a folder of the
    enclosing repository instead, which is left unstaged and uncommitted."""
    if directory.exists() and any(directory.iterdir()) and not force:
        raise UserError(f"{directory} is not empty", hint="Use --force to write into it anyway.")
    if (directory / "mlform.yaml").exists() and not force:
        raise UserError(f"{directory} already holds an mlform project")
    if example is not None:
        available = examples()
        if example not in available:
            raise UserError(f"unknown example '{example}'; available: {', '.join(available)}")
    settings = read_settings(directory)  # refused before anything is written
    if example is not None:
        shutil.copytree(
            resource_dir("examples") / example, directory, ignore=IGNORED, dirs_exist_ok=True
        )
        _point_modelines(directory)
        if not (directory / ".gitignore").exists():
            write_all([(directory / ".gitignore", gitignore(directory).encode())])
    else:
        files = {
            "mlform.yaml": PROJECT_TEMPLATE.format(name=project_name(directory), combined=COMBINED),
            "ml/.gitkeep": "",
            ".gitignore": GITIGNORE.format(artifacts="artifacts", deploy="deploy"),
            ".pre-commit-config.yaml": PRE_COMMIT,
        }
        write_all((directory / path, text.encode()) for path, text in files.items())
    write_all((directory / "schemas" / name, text.encode()) for name, text in schemas().items())
    mapping = schema_globs(*_spec_files(directory))
    write_all([(directory / SETTINGS, merged_settings(settings, mapping))])
    created = sorted(
        p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()
    )
    if vcs:
        init_repositories(directory, subproject)
    return created


def _spec_files(directory: Path) -> tuple[list[str], list[str]]:
    """The Project's spec folders and environment overlay files (for the editor's globs)."""
    from mlform.loader import load_file

    specs: list[str] = []
    overlays: list[str] = []
    docs, _ = load_file(directory / "mlform.yaml", "mlform.yaml")
    for doc in docs:
        spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
        if not isinstance(spec, dict):
            continue
        specs += [s for s in spec.get("specs") or [] if isinstance(s, str)]
        environments = spec.get("environments")
        for environment in environments.values() if isinstance(environments, dict) else []:
            files = environment.get("overlays") if isinstance(environment, dict) else None
            overlays += [o for o in files or [] if isinstance(o, str) and o not in overlays]
    return specs, overlays


def gitignore(directory: Path) -> str:
    """The .gitignore of a project, for its Project's artifacts folder."""
    from mlform.loader import load_file

    folders = {"artifacts": "artifacts", "deploy": "deploy"}
    docs, _ = load_file(directory / "mlform.yaml", "mlform.yaml")
    for doc in docs:
        spec = doc.data.get("spec") if isinstance(doc.data, dict) else None
        for key, field in (("artifacts", "artifacts"), ("deploy", "deploy_dir")):
            if isinstance(spec, dict) and isinstance(spec.get(field), str):
                folders[key] = spec[field].strip("/")
    return GITIGNORE.format(**folders)


CI_FILES = {"github": ".github/workflows/mlform.yml", "gitlab": ".gitlab-ci.yml"}


def write_ci(directory: Path, system: str, environment: str | None, branch: str = "main") -> Path:
    """A CI workflow: validate, plan (and comment it) on pull requests; apply on ``branch``.

    The workflow is written at the git repository's root; the project may be a subfolder.
    """
    from mlform.ci import render_workflow

    root = Git(directory).toplevel() or directory
    project = directory.resolve().relative_to(root.resolve()).as_posix() or "."
    text = render_workflow(system, project, branch, environment)
    path = root / CI_FILES[system]
    write_all([(path, text.encode())])
    return path


def init_repositories(directory: Path, subproject: bool = False) -> None:
    """git init (branch main) and dvc init, then a first commit, "mlform init", so versions
    can be tagged on it at once (with mlform's name when git has no identity configured).

    Inside another repository the project is a repository of its own unless ``subproject``:
    then DVC is set up in its folder of the enclosing repository, and whatever DVC staged
    there is unstaged again, so the enclosing repository's index is never touched."""
    git = Git(directory)
    try:
        enclosing = git.toplevel()
        if subproject:
            if enclosing is None:
                raise UserError(
                    f"--subproject: {directory} is not inside a git repository",
                    hint="Leave out --subproject to make the project a repository of its own.",
                )
            if not _dvc_above(directory.resolve(), enclosing):
                Dvc(directory).init(subdir=True)
                git.run("reset", "-q", "--", ".")
            return
        git.init()
        Dvc(directory).init(subdir=False)
        git.commit_all("mlform init")
    except UserError as error:
        skip = "Or pass --no-git to skip git init and dvc init."
        raise UserError(error.message, hint=f"{error.hint} {skip}".strip()) from None


def _dvc_above(here: Path, top: Path) -> bool:
    return any(
        (folder / ".dvc").is_dir() for folder in (here, *here.parents) if folder.is_relative_to(top)
    )


def _point_modelines(directory: Path) -> None:
    """Editor schema lines of a copied example point at the schemas written beside it."""
    for path in directory.rglob("*.y*ml"):
        text = path.read_text(encoding="utf-8")
        if not MODELINE.search(text):
            continue
        up = "../" * (len(path.relative_to(directory).parts) - 1)
        line = f"# yaml-language-server: $schema={up}schemas/\\1"
        path.write_text(MODELINE.sub(line, text), encoding="utf-8")
