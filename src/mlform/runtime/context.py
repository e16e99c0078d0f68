"""What a stage knows: the project root, params.yaml, and where every artifact lives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

from mlform import stage_params as P
from mlform.layout import DatasetPaths, Layout, ModelPaths, TrainingPaths
from mlform.runtime.frames import model_inputs
from mlform.runtime.params import Params

T = TypeVar("T")


@dataclass(frozen=True)
class StageContext:
    root: Path
    params: Params
    layout: Layout

    @classmethod
    def load(cls, params_file: Path) -> StageContext:
        """The context of a params file: beside mlform.yaml, or an environment's own
        pipeline's (its ``location`` says where the root and its outputs are)."""
        folder = params_file.resolve().parent
        params = Params.load(params_file)
        location = params.data.get("location")
        if location is not None:
            where = P.read(location, P.Location, at="location")
            root = (folder / where.root).resolve()
            return cls(root, params, Layout(PurePosixPath(where.artifacts)))
        return cls(folder, params, Layout(PurePosixPath(_artifacts_dir(folder))))

    def path(self, relative: PurePosixPath) -> Path:
        return self.root / relative

    # --- params by name, typed (only the sections a stage reads) -----------------------
    def _section(self, kind: str, name: str, cls: type[T]) -> T:
        return P.read(self.params.section(kind, name), cls, at=f"{kind}.{name}")

    def dataset(self, name: str) -> P.DatasetParams:
        return self._section("dataset", name, P.DatasetParams)

    def training(self, name: str) -> P.TrainingParams:
        return self._section("training", name, P.TrainingParams)

    def featureset(self, name: str) -> P.FeatureSetParams:
        return self._section("featureset", name, P.FeatureSetParams)

    def model(self, name: str) -> P.ModelParams:
        return self._section("model", name, P.ModelParams)

    def inputs(self, training: P.TrainingParams) -> list[str]:
        return model_inputs(self.featureset(training.features), self.dataset(training.dataset))

    # --- artifact paths ----------------------------------------------------------------
    def dataset_paths(self, name: str) -> DatasetPaths:
        return self.layout.dataset(name)

    def training_paths(self, name: str) -> TrainingPaths:
        return self.layout.training(name)

    def model_paths(self, name: str) -> ModelPaths:
        return self.layout.model(name)


def _artifacts_dir(root: Path) -> str:
    """The Project's artifacts folder, read from mlform.yaml without validating everything."""
    from mlform.loader import load_file

    docs, _ = load_file(root / "mlform.yaml", "mlform.yaml")
    for doc in docs:
        if isinstance(doc.data, dict) and doc.data.get("kind") == "Project":
            spec = doc.data.get("spec") or {}
            value = spec.get("artifacts") if isinstance(spec, dict) else None
            if isinstance(value, str):
                return value
    return "artifacts"
