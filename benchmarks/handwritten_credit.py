"""The peer of the pipeline-overhead benchmark: what a data scientist would write by hand to
train and evaluate the credit-risk model of examples/credit-risk, with the same data split,
preprocessing, estimator, search space, seeds and metrics as mlform's stages.

    python benchmarks/handwritten_credit.py TRAIN.parquet TEST.parquet OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

NUMERIC = ["age", "income", "loan_amount", "loan_term_months"]
CATEGORICAL = ["housing", "purpose", "credit_history"]


def features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[[*NUMERIC, "employment_years", *CATEGORICAL]].copy()
    for column in CATEGORICAL:
        out[column] = out[column].fillna("").astype(str)
    return out


def main() -> None:
    train_path, test_path, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    train, test = pd.read_parquet(train_path), pd.read_parquet(test_path)
    x_train, y_train = features(train), train["default"]
    x_test, y_test = features(test), test["default"]
    preprocess = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
                ),
                NUMERIC,
            ),
            (
                "employment",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median")),
                        ("clip", FunctionTransformer(np.clip, kw_args={"a_min": 0, "a_max": 40})),
                        ("scale", StandardScaler()),
                    ]
                ),
                ["employment_years"],
            ),
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(missing_values="", strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                CATEGORICAL,
            ),
        ]
    )
    model = Pipeline(
        [
            ("features", preprocess),
            (
                "estimator",
                HistGradientBoostingClassifier(
                    max_iter=100, learning_rate=0.1, max_leaf_nodes=31, random_state=42
                ),
            ),
        ]
    )
    space = {
        "estimator__learning_rate": [0.05, 0.1, 0.2],
        "estimator__max_leaf_nodes": [15, 31],
        "estimator__l2_regularization": stats.loguniform(0.0001, 1.0),
    }
    search = RandomizedSearchCV(
        model,
        space,
        n_iter=6,
        scoring="roc_auc",
        cv=StratifiedKFold(3, shuffle=True, random_state=42),
        random_state=42,
        refit=True,
    )
    search.fit(x_train, y_train)
    best = search.best_estimator_
    predicted, probabilities = best.predict(x_test), best.predict_proba(x_test)
    metrics = {
        "roc_auc": roc_auc_score(y_test, probabilities[:, 1]),
        "accuracy": accuracy_score(y_test, predicted),
        "precision": precision_score(y_test, predicted),
        "recall": recall_score(y_test, predicted),
        "f1": f1_score(y_test, predicted),
        "log_loss": log_loss(y_test, probabilities),
    }
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(best, out / "pipeline.joblib", compress=3)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
