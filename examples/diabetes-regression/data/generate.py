"""Write data/diabetes.csv from scikit-learn's bundled diabetes data (442 patients).

    python data/generate.py

The values are scikit-learn's raw (unscaled) copy, so the file is the same on every machine.
"""

from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_diabetes


def main() -> None:
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame = frame.rename(
        columns={"s1": "tc", "s2": "ldl", "s3": "hdl", "s4": "tch", "s5": "ltg", "s6": "glu"}
    )
    frame["sex"] = frame["sex"].map({1.0: "f", 2.0: "m"})
    frame.to_csv(
        Path(__file__).with_name("diabetes.csv"),
        index=False,
        lineterminator="\n",
        float_format="%.4f",
    )


if __name__ == "__main__":
    main()
