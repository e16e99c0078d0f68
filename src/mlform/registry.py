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
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.errors import UserError

SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_SEP, _END = "\x1f", "\x1e"


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

    # --- git ---------------------------------------------------------------------------
    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=self.root, capture_output=True, text=True, check=False, env=env
            )
        except FileNotFoundError:
            raise UserError("git is not installed; the model registry lives in git tags") from None
        if done.returncode != 0:
            message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
            raise UserError(f"git {args[0]}: {message}")
        return done.stdout

    def head(self) -> str:
        try:
            return self._git("rev-parse", "--verify", "HEAD^{commit}").strip()
        except UserError:
            raise UserError("the repository has no commit yet; commit your specs first") from None

    def _tags(self, model: str) -> list[tuple[str, str, str, str]]:
        """(tag, commit, created, message) of every tag of ``model``."""
        fmt = (
            _SEP.join(
                [
                    "%(refname:short)",
                    "%(*objectname)",
                    "%(objectname)",
                    "%(creatordate:iso-strict)",
                    "%(contents)",
                ]
            )
            + _END
        )
        out = self._git(
            "for-each-ref", f"--format={fmt}", f"refs/tags/{model}@*", f"refs/tags/{model}#*"
        )
        tags = []
        for entry in out.split(_END):
            parts = entry.strip("\n").split(_SEP)
            if len(parts) == 5:
                tag, peeled, obj, created, message = parts
                tags.append((tag, peeled or obj, created, message))
        return tags

    # --- reading -----------------------------------------------------------------------
    def versions(self, model: str) -> list[Version]:
        out = []
        for tag, commit, created, message in self._tags(model):
            name, _, version = tag.partition("@")
            if name == model and SEMVER.match(version):
                out.append(Version(model, version, commit, created, _record(message)))
        return sorted(out, key=lambda v: v.key)

    def assignments(self, model: str) -> list[Assignment]:
        versions_by_commit = {v.commit: v.version for v in self.versions(model)}
        out = []
        for tag, commit, created, message in self._tags(model):
            match = re.match(rf"^{re.escape(model)}#([a-z0-9][a-z0-9-]*)(!?)#(\d+)$", tag)
            if not match:
                continue
            stage, unassign, number = match.groups()
            version = (
                None
                if unassign
                else (_record(message).get("version") or versions_by_commit.get(commit))
            )
            out.append(Assignment(model, stage, int(number), version, commit, created))
        return sorted(out, key=lambda a: a.number)

    def stages(self, model: str) -> dict[str, str]:
        """stage → the version currently assigned to it (the latest assignment wins)."""
        current: dict[str, str | None] = {}
        for assignment in self.assignments(model):
            current[assignment.stage] = assignment.version
        return {stage: version for stage, version in current.items() if version is not None}

    def find(self, model: str, version: str | None = None) -> Version:
        versions = self.versions(model)
        if not versions:
            raise UserError(f"Model '{model}' has no registered version")
        if version is None:
            return versions[-1]
        wanted = version if version.startswith("v") else f"v{version}"
        for candidate in versions:
            if candidate.version == wanted:
                return candidate
        known = ", ".join(v.version for v in versions[-5:])
        raise UserError(f"Model '{model}' has no version {wanted}; latest: {known}")

    def stage_version(self, model: str, stage: str) -> Version | None:
        version = self.stages(model).get(stage)
        return self.find(model, version) if version else None

    # --- writing -----------------------------------------------------------------------
    def _tag(self, name: str, message: str, commit: str) -> None:
        env = dict(os.environ)
        if not self._git_identity():
            env.update(GIT_COMMITTER_NAME="mlform", GIT_COMMITTER_EMAIL="mlform@localhost")
        self._git("tag", "-a", name, "-m", message, commit, env=env)

    def _git_identity(self) -> bool:
        try:
            return bool(self._git("config", "user.email").strip())
        except UserError:
            return False

    def register(
        self, model: str, version: str, record: dict[str, Any], *, same_commit_ok: bool = False
    ) -> Version:
        commit = self.head()
        for existing in self.versions(model):
            if existing.commit == commit and not same_commit_ok:
                raise UserError(
                    f"{existing.tag} is already registered at this commit ({commit[:8]}); "
                    "commit the change that produced the new model, then register it"
                )
        body = json.dumps({"version": version, **record}, indent=2, sort_keys=True)
        self._tag(f"{model}@{version}", f"mlform: register {model} {version}\n\n{body}\n", commit)
        return self.find(model, version)

    def assign(self, model: str, version: str, stage: str) -> Assignment:
        target = self.find(model, version)
        if self.stages(model).get(stage) == target.version:
            raise UserError(f"{target.tag} is already in stage '{stage}'")
        number = max((a.number for a in self.assignments(model)), default=0) + 1
        name = f"{model}#{stage}#{number}"
        body = json.dumps({"stage": stage, "version": target.version}, sort_keys=True)
        self._tag(name, f"mlform: assign {stage} to {target.tag}\n\n{body}\n", target.commit)
        return next(a for a in self.assignments(model) if a.number == number)

    # --- the local store of ONNX files -------------------------------------------------
    def store(self, model: str, version: str) -> Path:
        return self.root / ".mlform" / "registry" / model / version

    def keep(
        self, model: str, version: str, files: dict[str, Path], record: dict[str, Any]
    ) -> Path:
        """Copy a version's files (model.onnx, pipeline.joblib) into the local store."""
        folder = self.store(model, version)
        folder.mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            shutil.copyfile(source, folder / f"{name}.partial")
            os.replace(folder / f"{name}.partial", folder / name)
        (folder / "record.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        return folder / "model.onnx"

    def onnx_path(self, version: Version) -> Path:
        """The version's ONNX file: the local store, else DVC's cache (by md5)."""
        stored = self.store(version.model, version.version) / "model.onnx"
        if stored.is_file():
            return stored
        md5 = version.record.get("dvc_md5")
        if isinstance(md5, str) and len(md5) == 32:
            cached = _dvc_cache(self.root) / "files" / "md5" / md5[:2] / md5[2:]
            if cached.is_file():
                return cached
        raise UserError(
            f"the ONNX file of {version.tag} is neither in {stored.parent} nor in DVC's cache; "
            "run `dvc pull` (or `dvc fetch`) first"
        )


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
