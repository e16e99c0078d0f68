"""`mlform experiments run/show` and `mlform metrics diff`: DVC experiments, in spec words.

``--set training.credit-gbm.max_iter=200`` is the short form of the params.yaml key
``training.credit-gbm.params.max_iter`` (an estimator parameter); any full params.yaml key
works too. Experiments run in a temporary copy (``dvc exp run --temp``), so the workspace —
and ``mlform compile --check`` — stay clean.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.engines.dvc import Dvc
from mlform.errors import UserError
from mlform.runtime.params import Params
from mlform.schema_errors import suggestion


@dataclass(frozen=True)
class Table:
    """Cells as text for the table and markdown; ``records`` for JSON, with the values as
    they are (numbers as numbers, names exact)."""

    header: list[str]
    rows: list[list[str]]
    records: list[dict[str, Any]] = field(default_factory=list)

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


@dataclass(frozen=True)
class Entry:
    """A row of `experiments show`: the workspace, a commit, or an experiment of a commit."""

    name: str
    rev: str
    parent: str | None  # an experiment's commit (its short rev)
    params: dict[str, Any]
    metrics: dict[str, Any]


def show(root: Path, all_metrics: bool = False) -> Table:
    entries: list[Entry] = []
    for commit in Dvc(root).json("exp", "show", "--json") or []:
        workspace = commit["rev"] == "workspace"
        name = "workspace" if workspace else (commit.get("name") or commit["rev"][:7])
        rev = "-" if workspace else commit["rev"][:7]
        entries.append(_entry(name, rev, None, commit.get("data") or {}, all_metrics))
        for experiment in commit.get("experiments") or []:
            for item in experiment.get("revs") or []:
                label = item.get("name") or item["rev"][:7]
                data = item.get("data") or {}
                entries.append(_entry(label, item["rev"][:7], rev, data, all_metrics))
    params = [e.params for e in entries]
    absent = "\0absent"  # a key missing from a row differs from a key set to null
    keys = set().union(*params) if params else set()
    changed = {k for k in keys if len({json.dumps(p.get(k, absent)) for p in params}) > 1}
    # When a whole section differs (e.g. tuning removed in one experiment), show the section.
    varying = sorted(k for k in changed if not any(k.startswith(a + ".") for a in changed))
    metric_keys = sorted(set().union(*(e.metrics for e in entries))) if entries else []
    header = ["experiment", "rev", *[_short(k) for k in varying], *metric_keys]
    rows = [
        [
            e.name if e.parent is None else f"  {e.name}",  # an experiment under its commit
            e.rev,
            *[_param_cell(e.params, k) for k in varying],
            *[_cell(e.metrics.get(k)) for k in metric_keys],
        ]
        for e in entries
    ]
    records = [
        {
            "experiment": e.name,
            "rev": None if e.rev == "-" else e.rev,
            "parent": e.parent,
            "params": {_short(k): _param_value(e.params, k) for k in varying},
            "metrics": {k: e.metrics.get(k) for k in metric_keys},
        }
        for e in entries
    ]
    return Table(header, rows, records)


def _entry(
    name: str, rev: str, parent: str | None, data: dict[str, Any], everything: bool
) -> Entry:
    params = _flatten((data.get("params") or {}).get("params.yaml", {}).get("data", {}))
    return Entry(name, rev, parent, params, _metrics(data, everything))


def _metrics(data: dict[str, Any], everything: bool) -> dict[str, Any]:
    """Numeric metrics keyed by where they come from and their name: ``TRAINING:metric``
    (each Training's test metrics), or ``path:metric`` with ``everything``: Trainings'
    metrics of the same name never overwrite each other."""
    out: dict[str, Any] = {}
    for path, content in (data.get("metrics") or {}).items():
        if not everything and not path.endswith("/metrics.json"):
            continue
        source = path if everything else training_of(path)
        for key, value in _flatten((content or {}).get("data", {})).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[f"{source}:{key}"] = value
    return out


def training_of(path: str) -> str:
    """``artifacts/trainings/credit-gbm/metrics.json`` → ``credit-gbm``; an environment's
    (``artifacts/prod/trainings/credit-gbm/…``) → ``prod/credit-gbm``."""
    parts = path.split("/")[:-1]
    if "trainings" in parts[1:]:
        at = parts.index("trainings", 1)
        return "/".join(parts[1:at] + parts[at + 1 :])
    return "/".join(parts) or path


def _param_value(params: dict[str, Any], key: str) -> Any:
    if key in params:
        return params[key]
    section = {k[len(key) + 1 :]: v for k, v in params.items() if k.startswith(key + ".")}
    return section or None


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
    rows, records = [], []
    for path, changes in sorted((Dvc(root).json(*args) or {}).items()):
        for metric, change in sorted(changes.items()):
            old, new, diff = change.get("old"), change.get("new"), change.get("diff")
            number = isinstance(diff, int | float) and not isinstance(diff, bool)
            rows.append([path, metric, _cell(old), _cell(new), f"{diff:+.4g}" if number else "-"])
            records.append(
                {
                    "path": path,
                    "metric": metric,
                    "old": old,
                    "new": new,
                    "change": diff if number else None,
                    "revision": revision,
                }
            )
    return Table(["path", "metric", revision, "workspace", "change"], rows, records)
