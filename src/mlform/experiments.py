"""`mlform experiments run/show` and `mlform metrics diff`: DVC experiments, in spec words.

``--set training.credit-gbm.max_iter=200`` is the short form of the params.yaml key
``training.credit-gbm.params.max_iter`` (an estimator parameter); any full params.yaml key
works too. Experiments run in a temporary copy (``dvc exp run --temp``), so the workspace —
and ``mlform compile --check`` — stay clean.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.engines.dvc import Dvc
from mlform.errors import UserError
from mlform.runtime.params import Params
from mlform.schema_errors import suggestion


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]

    def text(self) -> str:
        widths = [
            max(len(r[i]) for r in [self.header, *self.rows]) for i in range(len(self.header))
        ]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in [self.header, *self.rows]
        ]
        return "\n".join(lines)

    def markdown(self) -> str:
        def cell(value: str) -> str:
            return value.replace("|", "\\|")

        lines = [
            "| " + " | ".join(cell(h) for h in self.header) + " |",
            "|" + "|".join(" --- " for _ in self.header) + "|",
        ]
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    elif not isinstance(data, list):
        out[prefix[:-1]] = data
    return out


def resolve_key(params: Params, key: str) -> str:
    """A `--set` key as a params.yaml key: full keys pass, `training.NAME.PARAM` expands."""
    flat = _flatten(params.data)
    if key in flat or any(k.startswith(key + ".") for k in flat):
        return key
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "training":
        training = params.data.get("training", {}).get(parts[1])
        if training is None:
            raise UserError(
                f"no Training '{parts[1]}' in params.yaml{suggestion(parts[1], list(params.data.get('training', {})))}"
            )
        from mlform.catalog.estimators import lookup, suggest

        info = lookup(training["estimator"])
        if info is not None and parts[2] not in info.params:
            hint = suggest(parts[2], info.params)
            raise UserError(
                f"unknown parameter '{parts[2]}' for {info.name}"
                + (f" — did you mean '{hint}'?" if hint else "")
            )
        return f"training.{parts[1]}.params.{parts[2]}"
    raise UserError(f"'{key}' is not a params.yaml key{suggestion(key, list(flat))}")


def run(root: Path, sets: list[str], name: str | None) -> int:
    params = Params.load(root / "params.yaml")
    args = ["exp", "run", "--temp"]
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--set takes KEY=VALUE, got '{item}'")
        args += ["-S", f"params.yaml:{resolve_key(params, key.strip())}={value}"]
    if name:
        args += ["-n", name]
    from mlform.runtime.stages import REPORT_ONLY

    return Dvc(root).run(*args, check=False, capture=False, env={REPORT_ONLY: "1"}).code


def show(root: Path, all_metrics: bool = False) -> Table:
    entries: list[tuple[str, str, dict[str, Any]]] = []
    for commit in Dvc(root).json("exp", "show", "--json") or []:
        label = (
            "workspace"
            if commit["rev"] == "workspace"
            else (commit.get("name") or commit["rev"][:7])
        )
        entries.append(
            (
                label,
                commit["rev"][:7] if commit["rev"] != "workspace" else "-",
                commit.get("data") or {},
            )
        )
        for experiment in commit.get("experiments") or []:
            for rev in experiment.get("revs") or []:
                entries.append(
                    (
                        "  " + (rev.get("name") or rev["rev"][:7]),
                        rev["rev"][:7],
                        rev.get("data") or {},
                    )
                )
    params = [
        _flatten((d.get("params") or {}).get("params.yaml", {}).get("data", {}))
        for _, _, d in entries
    ]
    absent = "\0absent"  # a key missing from a row differs from a key set to null
    keys = set().union(*params) if params else set()
    changed = {k for k in keys if len({json.dumps(p.get(k, absent)) for p in params}) > 1}
    # When a whole section differs (e.g. tuning removed in one experiment), show the section.
    varying = sorted(k for k in changed if not any(k.startswith(a + ".") for a in changed))
    metrics = [_metrics(d, all_metrics) for _, _, d in entries]
    metric_keys = sorted(set().union(*metrics)) if metrics else []
    header = ["experiment", "rev", *[_short(k) for k in varying], *metric_keys]
    rows = [
        [label, rev, *[_param_cell(p, k) for k in varying], *[_cell(m.get(k)) for k in metric_keys]]
        for (label, rev, _), p, m in zip(entries, params, metrics, strict=True)
    ]
    return Table(header, rows)


def _metrics(data: dict[str, Any], everything: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, content in (data.get("metrics") or {}).items():
        if not everything and not path.endswith("/metrics.json"):
            continue
        for key, value in _flatten((content or {}).get("data", {})).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key if not everything else f"{path}:{key}"] = value
    return out


def _param_cell(params: dict[str, Any], key: str) -> str:
    if key in params:
        return _cell(params[key])
    return "{…}" if any(k.startswith(key + ".") for k in params) else "-"


def _short(key: str) -> str:
    return key.replace(".params.", ".")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def metrics_diff(root: Path, revision: str, all_metrics: bool = False) -> Table:
    args = ["metrics", "diff", revision, "--json"] + (["--all"] if all_metrics else [])
    rows = []
    for path, changes in sorted((Dvc(root).json(*args) or {}).items()):
        for metric, change in sorted(changes.items()):
            old, new, diff = change.get("old"), change.get("new"), change.get("diff")
            rows.append(
                [
                    path,
                    metric,
                    _cell(old),
                    _cell(new),
                    f"{diff:+.4g}" if isinstance(diff, int | float) else "-",
                ]
            )
    return Table(["path", "metric", revision, "workspace", "change"], rows)
