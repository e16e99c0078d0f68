"""Where each pipeline stage writes: one definition read by the compiler and the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Plot:
    file: str
    x: str
    y: str
    template: str
    title: str


CLASSIFICATION_PLOTS = (
    Plot("roc.json", "fpr", "tpr", "simple", "ROC curve"),
    Plot("precision_recall.json", "recall", "precision", "simple", "Precision-recall curve"),
    Plot("confusion.json", "actual", "predicted", "confusion", "Confusion matrix"),
    Plot("calibration.json", "mean_predicted", "fraction_positive", "simple", "Calibration"),
)
REGRESSION_PLOTS = (
    Plot("predicted_vs_actual.json", "actual", "predicted", "scatter", "Predicted vs actual"),
    Plot("residuals.json", "predicted", "residual", "scatter", "Residuals"),
)


@dataclass(frozen=True)
class DatasetPaths:
    root: PurePosixPath

    @property
    def cleaned(self) -> PurePosixPath:
        """The source's rows the cleaning rules kept, as read (the checks read this)."""
        return self.root / "cleaned.parquet"

    @property
    def cleaning(self) -> PurePosixPath:
        """Rows removed and values clipped, in all and per rule (a DVC metric)."""
        return self.root / "cleaning.json"

    @property
    def cleaning_report(self) -> PurePosixPath:
        """What each cleaning rule did, in words, with example rows."""
        return self.root / "cleaning_report.json"

    @property
    def checks(self) -> PurePosixPath:
        return self.root / "checks.json"

    @property
    def profile(self) -> PurePosixPath:
        return self.root / "profile.json"

    @property
    def profile_html(self) -> PurePosixPath:
        return self.root / "profile.html"

    @property
    def train(self) -> PurePosixPath:
        return self.root / "train.parquet"

    @property
    def test(self) -> PurePosixPath:
        return self.root / "test.parquet"


@dataclass(frozen=True)
class TrainingPaths:
    root: PurePosixPath

    @property
    def pipeline(self) -> PurePosixPath:
        return self.root / "pipeline.joblib"

    @property
    def tuning(self) -> PurePosixPath:
        return self.root / "tuning.json"

    @property
    def metrics(self) -> PurePosixPath:
        return self.root / "metrics.json"

    @property
    def predictions(self) -> PurePosixPath:
        return self.root / "test_predictions.parquet"

    @property
    def plots(self) -> PurePosixPath:
        return self.root / "plots"


@dataclass(frozen=True)
class ModelPaths:
    root: PurePosixPath

    @property
    def onnx(self) -> PurePosixPath:
        return self.root / "model.onnx"

    @property
    def parity(self) -> PurePosixPath:
        return self.root / "parity.json"

    @property
    def review(self) -> PurePosixPath:
        return self.root / "review.json"

    @property
    def card_md(self) -> PurePosixPath:
        return self.root / "model_card.md"

    @property
    def card_html(self) -> PurePosixPath:
        return self.root / "model_card.html"


@dataclass(frozen=True)
class Layout:
    artifacts: PurePosixPath

    def dataset(self, name: str) -> DatasetPaths:
        return DatasetPaths(self.artifacts / "datasets" / name)

    def training(self, name: str) -> TrainingPaths:
        return TrainingPaths(self.artifacts / "trainings" / name)

    def model(self, name: str) -> ModelPaths:
        return ModelPaths(self.artifacts / "models" / name)


# --- the local working folder ------------------------------------------------------------
# ``.mlform/`` beside mlform.yaml holds what one checkout keeps for itself and git ignores:
# servers' configs and logs, monitor runs, retraining ledgers, the local model store.
LOCAL = ".mlform"


def local_dir(root: Path) -> Path:
    """``.mlform/`` of ``root``, made (or narrowed to) 0700 before anything is written in it:
    it holds the state, servers' logs of production inputs and feedback. Refused when it is
    a symlink (a committed link would send all of it elsewhere)."""
    import os

    folder = root / LOCAL
    if folder.is_symlink():
        from mlform.errors import UserError

        raise UserError(f"{folder} is a symlink; mlform keeps its state and logs only in a folder")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


def server_dir(root: Path, deployment: str) -> Path:
    """A local Deployment's server: config.json, server.json, server.log, logs/."""
    return root / LOCAL / "serve" / deployment


def monitor_dir(root: Path, monitor: str) -> Path:
    """A Monitor's runs: result.json, report.html, metrics.prom, history.jsonl."""
    return root / LOCAL / "monitor" / monitor


def retrain_dir(root: Path, policy: str) -> Path:
    """A RetrainPolicy's ledgers: decisions.jsonl, runs.jsonl, appended.json."""
    return root / LOCAL / "retrain" / policy


def state_dir(root: Path) -> Path:
    """The reconciler's state and locks, per environment."""
    return root / LOCAL / "state"


def store_dir(root: Path, model: str, version: str) -> Path:
    """A registered version's files in the local model store."""
    return root / LOCAL / "registry" / model / version
