"""The loaded model versions and how unversioned traffic is split between them.

A reload builds a complete new snapshot (every session loaded) and then swaps one
reference, so requests in flight finish on the version they started with and no request
ever sees a half-loaded model.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from mlform.serving.config import ServeConfig
from mlform.serving.errors import RequestError, not_found
from mlform.serving.model import ServedModel


@dataclass(frozen=True)
class ModelGroup:
    name: str
    versions: dict[str, ServedModel]  # "v0.1.0" → model
    split: tuple[tuple[int, ServedModel], ...]  # cumulative percent bounds, for traffic

    def pick(self, request_id: str | None) -> ServedModel:
        if len(self.split) == 1:
            return self.split[0][1]
        if request_id:  # the same id always goes to the same version
            bucket = (
                int.from_bytes(hashlib.blake2b(request_id.encode(), digest_size=8).digest(), "big")
                % 100
            )
        else:
            bucket = random.randrange(100)
        for bound, model in self.split:
            if bucket < bound:
                return model
        return self.split[-1][1]

    @property
    def default(self) -> ServedModel:
        """The version with the most traffic (the stable one during a canary)."""
        return (
            max(self.split, key=lambda item: item[0])[1]
            if len(self.split) == 1
            else _heaviest(self)
        )

    def version(self, text: str) -> ServedModel:
        key = text if text.startswith("v") else f"v{text}"
        if key not in self.versions:
            raise not_found(
                f"model '{self.name}' has no version '{text}'; served: {', '.join(self.versions)}"
            )
        return self.versions[key]


def _heaviest(group: ModelGroup) -> ServedModel:
    previous, best, best_share = 0, group.split[0][1], -1
    for bound, model in group.split:
        if bound - previous > best_share:
            best, best_share = model, bound - previous
        previous = bound
    return best


@dataclass(frozen=True)
class Snapshot:
    config: ServeConfig
    groups: dict[str, ModelGroup]
    # "/v2/models/{name}/infer" → its group: the route almost every request takes, found
    # with one look-up (a name with a "/" is not routable, as in the path's parts)
    infer_paths: dict[str, ModelGroup] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        paths = {f"/v2/models/{n}/infer": g for n, g in self.groups.items() if n and "/" not in n}
        object.__setattr__(self, "infer_paths", paths)

    def group(self, name: str) -> ModelGroup:
        if name not in self.groups:
            raise not_found(f"unknown model '{name}'; served: {', '.join(self.groups) or 'none'}")
        return self.groups[name]


def load(config: ServeConfig) -> Snapshot:
    """Load every version of the config; raise before anything is swapped in."""
    by_name: dict[str, list[ServedModel]] = {}
    for entry in config.models:
        by_name.setdefault(entry.model, []).append(ServedModel(entry))
    groups = {}
    for name, models in by_name.items():
        total = sum(m.entry.weight for m in models)
        if total <= 0:
            raise RequestError(500, f"model '{name}' has no traffic weight")
        split, bound = [], 0.0
        for model in models:
            bound += 100.0 * model.entry.weight / total
            split.append((round(bound), model))
        groups[name] = ModelGroup(name, {m.version: m for m in models}, tuple(split))
    return Snapshot(config, groups)
