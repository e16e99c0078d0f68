"""`mlform stage split DATASET`: train and test, random, stratified or by time; seeded."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlform.runtime.errors import StageFailed
from mlform.stage_params import DatasetParams

if TYPE_CHECKING:
    import pandas as pd


def split(
    frame: pd.DataFrame, params: DatasetParams, name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    spec = params.split
    target = params.target
    size, seed = spec.test_size, spec.seed
    if spec.method == "time":
        ordered = frame.sort_values(spec.time_column, kind="stable")
        cut = len(ordered) - max(1, round(len(ordered) * size))
        return ordered.iloc[:cut], ordered.iloc[cut:]
    stratify = None
    if spec.method == "stratified":
        counts = frame[target].value_counts()
        if (counts < 2).any():
            rare = ", ".join(str(v) for v in counts[counts < 2].index[:5])
            raise StageFailed(
                "E303",
                "Dataset",
                name,
                ("spec", "split", "method"),
                f"a stratified split needs at least 2 rows of every class; class {rare} has 1",
            )
        stratify = frame[target]
    try:
        train, test = train_test_split(
            frame, test_size=size, random_state=seed, stratify=stratify, shuffle=True
        )
    except ValueError as exc:
        raise StageFailed(
            "E303", "Dataset", name, ("spec", "split"), f"cannot split: {exc}"
        ) from None
    return train.sort_index(), test.sort_index()
