"""`mlform models …`: register versions that passed review, list, show and promote them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlform.clock import stamp
from mlform.engines.dvc import Dvc, read_lock
from mlform.engines.git import Git
from mlform.errors import UserError
from mlform.layout import Layout
from mlform.project import ProjectGraph
from mlform.registry import Registry, Version, bump
from mlform.spec import Model
from mlform.state_settings import for_environment, shared_git_remote


@dataclass(frozen=True)
class Registered:
    version: Version
    reason: str  # why this part of the version was bumped
    path: Path  # the stored ONNX file


def _model(graph: ProjectGraph, name: str) -> Model:
    names = [m.metadata.name for m in graph.all(Model)]
    if name not in names:
        from mlform.schema_errors import suggestion

        raise UserError(f"Model '{name}' is not declared in the specs{suggestion(name, names)}")
    return graph.get(Model, name)


def parse_reference(reference: str) -> tuple[str, str | None]:
    """``credit-risk@v1.2.0`` → (credit-risk, v1.2.0); ``credit-risk`` → (credit-risk, None)."""
    name, _, version = reference.partition("@")
    return name, version or None


def _uncommitted(graph: ProjectGraph) -> list[str]:
    """Spec and data files that differ from HEAD (rendered files are derived from specs)."""
    from mlform.spec import Dataset

    inputs = list(graph.sources)
    for dataset in graph.all(Dataset):
        inputs.append(dataset.spec.source.path)
        if (graph.root / f"{dataset.spec.source.path}.dvc").exists():
            inputs.append(f"{dataset.spec.source.path}.dvc")
    return Git(graph.root).status(inputs)


def register(
    graph: ProjectGraph,
    name: str,
    part: str | None = None,
    *,
    from_apply: bool = False,
    push_to: str | None = None,
) -> Registered:
    """Register the model's reviewed ONNX file as a new version (git tag + local store).

    ``from_apply``: the reconciler just ran the pipeline, so DVC is not asked again; an ONNX
    file that is already registered is that version (a revert rolls back to it); and specs
    that differ from HEAD are allowed but recorded as ``dirty`` in the version's record.
    ``push_to``: the git remote the tag is published to before anything uses it.

    The tag's commit is HEAD with the pipeline's dvc.lock and reports added: checked out,
    `dvc pull && dvc repro` changes nothing and gives the registered ONNX bytes.
    """
    model = _model(graph, name)
    root = graph.root
    paths = Layout(graph.artifacts).model(name)
    review_file, onnx_file = root / paths.review, root / paths.onnx
    if not review_file.is_file() or not onnx_file.is_file():
        raise UserError(f"Model '{name}' has not been reviewed yet; run `dvc repro review-{name}`")
    if not from_apply:
        stale = Dvc(root).stale(f"review-{name}")
        if stale:
            raise UserError(
                f"the pipeline of Model '{name}' is not up to date ({', '.join(stale)}); run `dvc repro review-{name}`"
            )
    dirty = _uncommitted(graph)
    if dirty and not from_apply:
        raise UserError(
            f"commit the specs and data of Model '{name}' first: a version is tagged on a "
            f"commit, and these files differ from it: {', '.join(dirty[:5])}"
        )
    review = json.loads(review_file.read_text())
    sha256 = hashlib.sha256(onnx_file.read_bytes()).hexdigest()
    if review.get("sha256") != sha256:
        raise UserError(
            f"the review of Model '{name}' is for another ONNX file; run `dvc repro review-{name}`"
        )
    if not review.get("passed"):
        failed = [g["gate"] for g in review.get("gates", []) if g.get("status") != "pass"]
        raise UserError(
            f"Model '{name}' did not pass review (failed: {', '.join(failed)}); no version is registered"
        )
    registry = Registry(root)
    previous = registry.versions(name)
    same = next((v for v in reversed(previous) if v.record.get("sha256") == sha256), None)
    if same is not None:
        if from_apply:
            return Registered(
                same,
                "this exact model is already registered",
                registry.store(name, same.version) / "model.onnx",
            )
        raise UserError(
            f"{same.tag} is this exact model (sha256 {sha256[:12]}…); nothing new to register"
        )
    from mlform.runtime.export import read_metadata

    meta = read_metadata(onnx_file)
    pipeline_sha256 = _verified_pipeline(graph, model)
    latest = previous[-1] if previous else None
    choice, reason = _bump(model.spec.registry.bump if part is None else part, meta, latest)
    version = bump(latest.version if latest else None, choice, model.spec.registry.initial_version)
    record = {
        "sha256": sha256,
        "size_bytes": onnx_file.stat().st_size,
        "dvc_md5": _exported_md5(graph, name, paths.onnx.as_posix()),
        "path": paths.onnx.as_posix(),
        "pipeline": graph.pipeline_dir.as_posix(),
        "artifacts": graph.artifacts.as_posix(),
        "metrics": review.get("metrics", {}),
        "review": {g["gate"]: g["status"] for g in review.get("gates", [])},
        "training": meta.get("training"),
        "task": meta.get("task"),
        "signature": meta.get("inputs"),
        "outputs": meta.get("outputs"),
        "classes": meta.get("classes"),
        "spec_hash": meta.get("spec_hash"),
        "data_hash": meta.get("training_data_hash"),
        **({"pipeline_sha256": pipeline_sha256} if pipeline_sha256 else {}),
        "registered_at": stamp(),
        **({"dirty": dirty} if dirty else {}),
    }
    created = registry.register(
        name,
        version,
        record,
        same_commit_ok=from_apply,
        files=_reproducing(graph),
        push_to=push_to if from_apply else shared_remote(graph),
    )
    layout = Layout(graph.artifacts)
    training = layout.training(model.spec.training)
    dataset = layout.dataset(graph.dataset_of(graph.training_of(model)).metadata.name)
    # The version's reference for drift monitoring travels with it: the profile of the data
    # it was trained on, and its predictions on the test split.
    optional = {
        "pipeline.joblib": root / training.pipeline,
        "profile.json": root / dataset.profile,
        "test_predictions.parquet": root / training.predictions,
    }
    kept = {
        "model.onnx": onnx_file,
        **{name: path for name, path in optional.items() if path.is_file()},
    }
    stored = registry.keep(
        name,
        created.version,
        kept,
        {**record, "version": created.version, "commit": created.commit},
    )
    return Registered(created, reason, stored)


def _verified_pipeline(graph: ProjectGraph, model: Model) -> str | None:
    """The sha256 of the trained pipeline kept with the version (what MLServer is given),
    checked against the one its training recorded; None when there is no pipeline."""
    from mlform.runtime.stage_io import verify_pipeline

    name = model.spec.training
    paths = Layout(graph.artifacts).training(name)
    pipeline = graph.root / paths.pipeline
    if not pipeline.is_file():
        return None
    tuning = graph.root / paths.tuning
    verify_pipeline(pipeline, tuning, paths.pipeline.as_posix(), paths.tuning.as_posix(), name)
    return hashlib.sha256(pipeline.read_bytes()).hexdigest()


def shared_remote(graph: ProjectGraph) -> str | None:
    """The git remote that holds the team's registry: with a shared state backend, its git
    remote (when this repository has it); a local backend keeps the registry local."""
    spec = graph.project.spec
    config = for_environment(spec.state, dict(spec.environments), graph.environment)
    return shared_git_remote(graph.root, config)


def _registry(graph: ProjectGraph) -> Registry:
    """The registry, brought up to date with the team's remote first."""
    registry = Registry(graph.root)
    remote = shared_remote(graph)
    if remote is not None:
        registry.fetch(remote)
    return registry


def _reproducing(graph: ProjectGraph) -> dict[str, Path]:
    """Repository path → file, of what a version's commit adds to HEAD: dvc.lock (kept out
    of the branch by `mlform init` projects) and the outputs DVC does not cache."""
    from mlform.engines.dvc import lock_file
    from mlform.targets.dvc import uncached_outputs

    root = graph.root
    top = Git(root).toplevel() or root
    prefix = root.resolve().relative_to(top.resolve()).as_posix()

    def at(path: str) -> str:
        return path if prefix == "." else f"{prefix}/{path}"

    files = {at(p): root / p for p in uncached_outputs(graph) if (root / p).is_file()}
    folder = graph.pipeline_dir.as_posix()
    lock = lock_file(root, folder)
    if lock.is_file():
        files[at("dvc.lock" if folder == "." else f"{folder}/dvc.lock")] = lock
    return files


def _exported_md5(graph: ProjectGraph, model: str, path: str) -> str | None:
    out = read_lock(graph.root, graph.pipeline_dir.as_posix()).stage(f"export-{model}").out(path)
    return out.md5 if out else None


def _bump(policy: str, meta: dict[str, Any], latest: Version | None) -> tuple[str, str]:
    if latest is None:
        return "minor", "first version"
    if policy != "auto":
        return policy, f"the Model's registry.bump is {policy}"
    if latest.record.get("signature") != meta.get("inputs"):
        return "major", "the input signature changed"
    if latest.record.get("spec_hash") != meta.get("spec_hash"):
        return "minor", "the specs of the data, features, training or export changed"
    return "patch", "only the data changed"


def promote(graph: ProjectGraph, reference: str, stage: str) -> str:
    name, version = parse_reference(reference)
    if version is None:
        raise UserError(
            f"say which version to promote: {name}@vX.Y.Z (see `mlform models show {name}`)"
        )
    model = _model(graph, name)
    stages = model.spec.registry.stages
    if stage not in stages:
        from mlform.schema_errors import suggestion

        raise UserError(
            f"'{stage}' is not a stage of Model '{name}' (registry.stages: {', '.join(stages)}){suggestion(stage, stages)}"
        )
    remote = shared_remote(graph)
    assignment = _registry(graph).assign(name, version, stage, push_to=remote)
    return assignment.tag


def describe(graph: ProjectGraph, reference: str) -> dict[str, Any]:
    name, version = parse_reference(reference)
    registry = _registry(graph)
    if name not in [m.metadata.name for m in graph.all(Model)] and not registry.versions(name):
        _model(graph, name)  # raises with a suggestion
    chosen = registry.find(name, version)
    stages = [stage for stage, v in registry.stages(name).items() if v == chosen.version]
    history = [
        {"tag": a.tag, "stage": a.stage, "version": a.version, "at": a.created}
        for a in registry.assignments(name)
    ]
    return {
        "model": name,
        "version": chosen.version,
        "tag": chosen.tag,
        "commit": chosen.commit,
        "created": chosen.created,
        "stages": stages,
        "record": chosen.record,
        "history": history,
    }


def overview(graph: ProjectGraph) -> list[dict[str, Any]]:
    registry = _registry(graph)
    rows = []
    for model in graph.all(Model):
        name = model.metadata.name
        releases = registry.releases(name)  # one read of its tags for both columns
        versions = releases.versions
        rows.append(
            {
                "model": name,
                "latest": versions[-1].version if versions else None,
                "versions": len(versions),
                "stages": releases.stages(),
            }
        )
    return rows


def pull(graph: ProjectGraph, reference: str) -> Path:
    """Fetch a registered version's files from the DVC remote into the local store, by the
    content addresses its commit's dvc.lock records; the ONNX file is checked against the
    sha256 of its registration. The stored ONNX file."""
    from mlform.engines.dvc import Lock, RemoteStore, parse_lock

    name, version = parse_reference(reference)
    _model(graph, name)
    root = graph.root
    remote = graph.project.spec.remote
    if remote is None:
        raise UserError("the Project declares no remote (spec.remote) to pull from")
    git = Git(root)
    registry = _registry(graph)
    chosen = registry.find(name, version)
    top = git.toplevel() or root
    prefix = root.resolve().relative_to(top.resolve()).as_posix()
    folder = str(chosen.record.get("pipeline") or ".")
    lock_path = "dvc.lock" if folder == "." else f"{folder}/dvc.lock"
    at = lock_path if prefix == "." else f"{prefix}/{lock_path}"
    lock: Lock = parse_lock(git.show(chosen.commit, at))
    layout = Layout(PurePosixPath(str(chosen.record.get("artifacts") or graph.artifacts)))
    training = graph.training_of(graph.get(Model, name))
    dataset = graph.dataset_of(training)
    wanted = {
        "model.onnx": (f"export-{name}", layout.model(name).onnx),
        "pipeline.joblib": (
            f"train-{training.metadata.name}",
            layout.training(training.metadata.name).pipeline,
        ),
        "test_predictions.parquet": (
            f"train-{training.metadata.name}",
            layout.training(training.metadata.name).predictions,
        ),
        "profile.json": (
            f"profile-{dataset.metadata.name}",
            layout.dataset(dataset.metadata.name).profile,
        ),
    }
    stored = registry.store(name, chosen.version)
    Dvc(root).use_remote(remote.name, remote.url)
    store = RemoteStore(root, remote.name)
    try:
        for file, (stage, path) in wanted.items():
            out = lock.stage(stage).out(path.as_posix())
            if out is None or out.md5 is None:
                if file == "model.onnx":
                    raise UserError(f"{at} of {chosen.tag} records no {path}")
                continue
            store.get(out.md5, stored / file)
    finally:
        store.close()
    onnx = stored / "model.onnx"
    if hashlib.sha256(onnx.read_bytes()).hexdigest() != chosen.record.get("sha256"):
        onnx.unlink()
        raise UserError(f"the remote's ONNX file is not {chosen.tag}'s (sha256 differs); removed")
    pipeline, recorded = stored / "pipeline.joblib", chosen.record.get("pipeline_sha256")
    if pipeline.is_file() and recorded is not None:
        actual = hashlib.sha256(pipeline.read_bytes()).hexdigest()
        if actual != recorded:
            pipeline.unlink()
            raise UserError(
                f"the remote's pipeline.joblib is not {chosen.tag}'s (sha256 {actual}, "
                f"registered {recorded}); removed, never loaded"
            )
    (stored / "record.json").write_text(
        json.dumps(
            {**chosen.record, "version": chosen.version, "commit": chosen.commit},
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    return onnx
