"""The model registry: git tags in GTO's format are the source of truth.

- ``name@vX.Y.Z`` (annotated) registers a version; its message carries the version's
  record as JSON (ONNX sha256, metrics, review, git commit, data hash, signature).
- ``name#stage#N`` (annotated) assigns a stage to the version registered at the same
  commit (GTO's rule); its message also names the version. ``name#stage!#N`` unassigns.

The ONNX files themselves live in DVC's cache (the export stage's output) and, for fast
serving, in a local store ``.mlform/registry/<name>/<version>/model.onnx``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.engines.git import Git, Ref
from mlform.errors import UserError
from mlform.layout import local_dir, store_dir
from mlform.spec.deployment import DeploymentSpec

SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


@dataclass(frozen=True)
class Version:
    model: str
    version: str  # "v1.2.0"
    commit: str
    created: str
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int, int]:
        return parse_version(self.version)

    @property
    def tag(self) -> str:
        return f"{self.model}@{self.version}"


@dataclass(frozen=True)
class Assignment:
    model: str
    stage: str
    number: int
    version: str | None  # None for an unassignment
    commit: str
    created: str

    @property
    def tag(self) -> str:
        return f"{self.model}#{self.stage}{'!' if self.version is None else ''}#{self.number}"


@dataclass(frozen=True)
class Releases:
    """One model's registered versions (oldest first) and stage assignments: what
    rendering and version selection read, passed in so they need no git."""

    model: str
    versions: tuple[Version, ...] = ()
    assignments: tuple[Assignment, ...] = ()

    def stages(self) -> dict[str, str]:
        """stage → the version currently assigned to it (the latest assignment wins)."""
        current: dict[str, str | None] = {}
        for assignment in self.assignments:
            current[assignment.stage] = assignment.version
        return {stage: version for stage, version in current.items() if version is not None}

    def find(self, version: str | None = None) -> Version:
        if not self.versions:
            raise UserError(f"Model '{self.model}' has no registered version")
        if version is None:
            return self.versions[-1]
        wanted = version if version.startswith("v") else f"v{version}"
        for candidate in self.versions:
            if candidate.version == wanted:
                return candidate
        known = ", ".join(v.version for v in self.versions[-5:])
        raise UserError(f"Model '{self.model}' has no version {wanted}; latest: {known}")

    def stage_version(self, stage: str) -> Version | None:
        version = self.stages().get(stage)
        return self.find(version) if version else None

    def number(self, version: Version) -> int:
        """The version's position in the registry, from 1 (Triton's integer versions)."""
        return [v.version for v in self.versions].index(version.version) + 1


@dataclass(frozen=True)
class Selection:
    version: Version
    reason: str


def passed_review(version: Version) -> bool:
    review = version.record.get("review")
    return isinstance(review, dict) and bool(review) and all(v == "pass" for v in review.values())


def select(releases: Releases, spec: DeploymentSpec, current: str | None = None) -> Selection:
    """The version a Deployment asks for, or a UserError saying why there is none.

    ``current``: the version the pipeline of the applied commit produced. ``latest-passing``
    then means that version, so reverting a commit rolls the deployment back to it.
    """
    model = spec.model
    if spec.stage:
        chosen = releases.stage_version(spec.stage)
        if chosen is None:
            raise UserError(
                f"no version of Model '{model}' is in stage '{spec.stage}' (`mlform models promote {model}@vX.Y.Z {spec.stage}`)"
            )
        return Selection(chosen, f"stage {spec.stage}")
    if spec.version and spec.version != "latest-passing":
        return Selection(releases.find(spec.version), "pinned")
    passing = [v for v in releases.versions if passed_review(v)]
    if current is not None and current in [v.version for v in passing]:
        return Selection(releases.find(current), "latest-passing (this commit's model)")
    if not passing:
        raise UserError(
            f"Model '{model}' has no registered version that passed review (`mlform models register {model}`)"
        )
    return Selection(passing[-1], "latest-passing")


def parse_version(text: str) -> tuple[int, int, int]:
    match = SEMVER.match(text if text.startswith("v") else f"v{text}")
    if not match:
        raise UserError(f"'{text}' is not a version like v1.2.3")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def bump(previous: str | None, part: str, initial: str) -> str:
    if previous is None:
        return f"v{initial}"
    major, minor, patch = parse_version(previous)
    if part == "major":
        return f"v{major + 1}.0.0"
    if part == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"


class Registry:
    """Reads and writes the registry of the git repository holding ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git = Git(root)
        self._in_repository: bool | None = None

    def head(self) -> str:
        return self.git.require_head("a version is a tag on a commit")

    def _tags(self, model: str) -> list[Ref]:
        """Every tag of ``model``; a project outside a git repository has none."""
        if self._in_repository is None:
            self._in_repository = self.git.toplevel() is not None
        if not self._in_repository:
            return []
        return self.git.refs(f"refs/tags/{model}@*", f"refs/tags/{model}#*")

    # --- reading -----------------------------------------------------------------------
    def releases(self, model: str) -> Releases:
        """Every version and stage assignment of ``model``, from one read of its tags."""
        return _releases(model, self._tags(model))

    def releases_of(self, models: list[str]) -> dict[str, Releases]:
        """The releases of many models from one read of every tag (one ``git`` call, not
        one per model: a monorepo has thousands)."""
        if not models:
            return {}
        if self._in_repository is None:
            self._in_repository = self.git.toplevel() is not None
        refs: dict[str, list[Ref]] = {model: [] for model in models}
        if self._in_repository:
            for ref in self.git.refs("refs/tags"):
                owner = re.split(r"[@#]", ref.name, maxsplit=1)[0]
                if owner in refs and owner != ref.name:
                    refs[owner].append(ref)
        return {model: _releases(model, found) for model, found in refs.items()}

    def versions(self, model: str) -> list[Version]:
        return list(self.releases(model).versions)

    def assignments(self, model: str) -> list[Assignment]:
        return list(self.releases(model).assignments)

    def stages(self, model: str) -> dict[str, str]:
        return self.releases(model).stages()

    def find(self, model: str, version: str | None = None) -> Version:
        return self.releases(model).find(version)

    def stage_version(self, model: str, stage: str) -> Version | None:
        return self.releases(model).stage_version(stage)

    # --- writing -----------------------------------------------------------------------
    def register(
        self,
        model: str,
        version: str,
        record: dict[str, Any],
        *,
        same_commit_ok: bool = False,
        files: dict[str, Path] | None = None,
        push_to: str | None = None,
    ) -> Version:
        """Tag ``model@version``. With ``files`` (repository path → file), the tag's commit
        is HEAD plus those files (dvc.lock and the reports): a commit that reproduces the
        version. With ``push_to``, the tag is published there first of all: when the
        remote has the name already (another apply registered it), nothing is kept."""
        head = self.head()
        for existing in self.versions(model):
            if existing.record.get("source_commit", existing.commit) == head and not same_commit_ok:
                raise UserError(
                    f"{existing.tag} is already registered at this commit ({head[:8]}); "
                    "commit the change that produced the new model, then register it"
                )
        tag = f"{model}@{version}"
        commit = self.git.snapshot(files, f"mlform: {tag}") if files else head
        body = json.dumps(
            {"version": version, **record, "source_commit": head}, indent=2, sort_keys=True
        )
        self.git.tag(tag, f"mlform: register {model} {version}\n\n{body}\n", commit)
        if push_to is not None and not self.git.push_tag(push_to, tag):
            self.git.run("tag", "-d", tag)
            self.git.run("fetch", "--quiet", "--tags", "--force", push_to)
            raise UserError(
                f"{tag} was registered on {push_to} by another apply meanwhile; nothing was "
                "registered or deployed here",
                hint="Run the apply again: it finds the version the other one registered.",
            )
        self._in_repository = True
        return self.find(model, version)

    def fetch(self, remote: str) -> None:
        """The versions and stages registered on ``remote`` (a clone does not fetch tags of
        commits off its branches, which versions are)."""
        self.git.run("fetch", "--quiet", "--tags", "--force", remote)

    def assign(
        self, model: str, version: str, stage: str, push_to: str | None = None
    ) -> Assignment:
        """Tag ``model#stage#N`` on the version's commit (published to ``push_to`` first:
        when another promotion took the number meanwhile, nothing is kept)."""
        target = self.find(model, version)
        if self.stages(model).get(stage) == target.version:
            raise UserError(f"{target.tag} is already in stage '{stage}'")
        number = max((a.number for a in self.assignments(model)), default=0) + 1
        name = f"{model}#{stage}#{number}"
        body = json.dumps({"stage": stage, "version": target.version}, sort_keys=True)
        self.git.tag(name, f"mlform: assign {stage} to {target.tag}\n\n{body}\n", target.commit)
        if push_to is not None and not self.git.push_tag(push_to, name):
            self.git.run("tag", "-d", name)
            self.fetch(push_to)
            raise UserError(
                f"{name} was created on {push_to} by another promotion meanwhile",
                hint="Look again (`mlform models show`) and promote again if still needed.",
            )
        return next(a for a in self.assignments(model) if a.number == number)

    # --- the local store of ONNX files -------------------------------------------------
    def store(self, model: str, version: str) -> Path:
        return store_dir(self.root, model, version)

    def keep(
        self, model: str, version: str, files: dict[str, Path], record: dict[str, Any]
    ) -> Path:
        """Copy a version's files (model.onnx, pipeline.joblib) into the local store."""
        folder = self.store(model, version)
        local_dir(self.root)
        folder.mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            shutil.copyfile(source, folder / f"{name}.partial")
            os.replace(folder / f"{name}.partial", folder / name)
        (folder / "record.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        return folder / "model.onnx"

    def onnx_path(self, version: Version) -> Path:
        return onnx_path(self.root, version)


def onnx_path(root: Path, version: Version) -> Path:
    """The version's ONNX file: the local store, else DVC's cache (by md5). No git."""
    stored = store_dir(root, version.model, version.version) / "model.onnx"
    if stored.is_file():
        return stored
    md5 = version.record.get("dvc_md5")
    if isinstance(md5, str) and len(md5) == 32:
        cached = _dvc_cache(root) / "files" / "md5" / md5[:2] / md5[2:]
        if cached.is_file():
            return cached
    raise UserError(
        f"the ONNX file of {version.tag} is neither in {stored.parent} nor in DVC's cache; "
        f"run `mlform models pull {version.tag}` first"
    )


def _releases(model: str, refs: list[Ref]) -> Releases:
    """A model's versions and stage assignments, from its tags."""
    versions = []
    for ref in refs:
        name, _, version = ref.name.partition("@")
        if name == model and SEMVER.match(version):
            versions.append(Version(model, version, ref.commit, ref.created, _record(ref.message)))
    versions.sort(key=lambda v: v.key)
    by_commit = {v.commit: v.version for v in versions}
    assignments = []
    for ref in refs:
        match = re.match(rf"^{re.escape(model)}#([a-z0-9][a-z0-9-]*)(!?)#(\d+)$", ref.name)
        if not match:
            continue
        stage, unassign, number = match.groups()
        version_of = (
            None if unassign else (_record(ref.message).get("version") or by_commit.get(ref.commit))
        )
        assignments.append(
            Assignment(model, stage, int(number), version_of, ref.commit, ref.created)
        )
    assignments.sort(key=lambda x: x.number)
    return Releases(model, tuple(versions), tuple(assignments))


def _record(message: str) -> dict[str, Any]:
    start = message.find("{")
    if start < 0:
        return {}
    try:
        data = json.loads(message[start:])
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _dvc_cache(root: Path) -> Path:
    for folder in (root, *root.parents):
        if (folder / ".dvc").is_dir():
            return folder / ".dvc" / "cache"
    return root / ".dvc" / "cache"
