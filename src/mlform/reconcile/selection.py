"""Which resources a plan covers: ``--target``, ``--exclude`` and ``--selector``.

Pure, like the plan: f(desired resources, recorded state, request) → the addresses inside.

- ``--target ADDRESS`` and ``--selector`` pick the roots (their union); every dependency of
  a root, transitively, comes with it, as with Terraform's ``-target``. Without either,
  every resource is a root.
- ``--exclude ADDRESS`` then removes the addressed resources and, transitively, everything
  that depends on them, as Terraform's ``-exclude``.
- An ADDRESS is one `mlform plan` prints (``model.credit-risk``, ``file["dvc.yaml"]``), or a
  spec document as ``Kind/name`` or ``kind.name`` (``Model/credit-risk``,
  ``RetrainPolicy/nightly``): each document has exactly one resource.
- A resource no longer declared (a destroy) is inside only when it is addressed or its
  recorded labels match the selector; its recorded ``depends_on`` count as its dependencies.

Rendered files have no labels. The pipeline's files (``dvc.yaml``, ``params.yaml``) are a
dependency of every pipeline resource (their stages run from them); a Monitor's rules and
rule tests belong to it: selected, and excluded, with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from mlform.errors import UserError
from mlform.printable import one_line
from mlform.reconcile.resources import PIPELINE
from mlform.reconcile.selector import parse

if TYPE_CHECKING:
    from mlform.reconcile.changes import Plan
    from mlform.reconcile.resources import Resource

KINDS = {
    "dataset": "dataset",
    "featureset": "featureset",
    "training": "training",
    "model": "model",
    "deployment": "deployment",
    "monitor": "monitor",
    "retrain": "retrain",
    "retrainpolicy": "retrain",
}
_DOCUMENT = re.compile(r"([A-Za-z]+)[./](.+)")
_FILE = re.compile(r'file\[\s*"?([^"\]]+?)"?\s*\]')
SHOWN = 5  # left-out changes named in the warning
WARNING = "Resource targeting is in effect"


@dataclass(frozen=True)
class Request:
    """What the user asked for: ``--target``, ``--exclude``, ``--selector``."""

    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    selector: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.targets or self.excludes or self.selector)

    def flags(self) -> str:
        """The request as command-line flags, for messages."""
        parts = [f"--target {_quoted(t)}" for t in self.targets]
        if self.selector:
            parts.append(f"--selector {_quoted(self.selector)}")
        parts += [f"--exclude {_quoted(e)}" for e in self.excludes]
        return " ".join(parts)


@dataclass(frozen=True)
class Targeting:
    """What a plan records of its targeting: the request, how much it covers, and the
    changes outside it that it does not plan."""

    request: Request
    selected: int
    total: int
    left_out: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """Nothing outside the selection has changes: applying it converges everything."""
        return not self.left_out

    def detail(self) -> str:
        lines = [
            f"Only {self.selected} of {self.total} resources are planned, as selected by "
            f"{self.request.flags()}."
        ]
        if self.left_out:
            named = ", ".join(self.left_out[:SHOWN]) + (", …" if len(self.left_out) > SHOWN else "")
            count = len(self.left_out)
            lines.append(
                f"The plan may be incomplete: {count} change{'s' if count != 1 else ''} "
                f"outside the selection {'are' if count != 1 else 'is'} not planned ({named}); "
                "until an apply covers them, the environment's applied revision does not "
                "advance and `mlform status` stays OutOfSync."
            )
        else:
            lines.append(
                "Nothing outside the selection has changes, so applying this plan leaves the "
                "whole environment at this revision."
            )
        lines.append(
            "Targeting is for exceptional cases and for a team's scope of a shared "
            "repository, not for routine use."
        )
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "targets": list(self.request.targets),
            "excludes": list(self.request.excludes),
            "selector": self.request.selector,
            "selected": self.selected,
            "total": self.total,
            "left_out": list(self.left_out),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Targeting:
        request = Request(
            tuple(str(t) for t in data.get("targets", [])),
            tuple(str(e) for e in data.get("excludes", [])),
            data.get("selector"),
        )
        return cls(
            request,
            int(data["selected"]),
            int(data["total"]),
            tuple(str(a) for a in data.get("left_out", [])),
        )


@dataclass(frozen=True)
class _Node:
    type: str
    name: str
    depends_on: tuple[str, ...]
    labels: Mapping[str, str]


def _nodes(
    desired: Mapping[str, Resource], recorded: Mapping[str, dict[str, Any]]
) -> dict[str, _Node]:
    """Every resource declared or recorded, with the file dependencies made explicit."""
    nodes = {
        a: _Node(r.type, r.name, r.depends_on, r.meta.get("labels") or {})
        for a, r in desired.items()
    }
    for address, item in recorded.items():
        if address not in nodes:
            nodes[address] = _Node(
                str(item.get("type", "")),
                str(item.get("name", "")),
                tuple(item.get("depends_on") or ()),
                (item.get("meta") or {}).get("labels") or {},
            )
    owned = owners(nodes)
    shared = tuple(a for a, n in nodes.items() if n.type == "file" and a not in owned)
    files_of: dict[str, tuple[str, ...]] = {}
    for file, owner in owned.items():
        files_of[owner] = (*files_of.get(owner, ()), file)
    out: dict[str, _Node] = {}
    for address, node in nodes.items():
        extra = (shared if node.type in PIPELINE else ()) + files_of.get(address, ())
        depends = tuple(d for d in (*node.depends_on, *extra) if d in nodes)
        out[address] = replace(node, depends_on=depends)
    return out


def owners(nodes: Mapping[str, _Node]) -> dict[str, str]:
    """A Monitor's rendered files (``<monitor>.rules.yml``, ``<monitor>.test.yml``) → it."""
    out: dict[str, str] = {}
    for address, node in nodes.items():
        if node.type != "file":
            continue
        base = node.name.rsplit("/", 1)[-1]
        for suffix in (".rules.yml", ".test.yml"):
            monitor = f"monitor.{base.removesuffix(suffix)}"
            if base.endswith(suffix) and monitor in nodes:
                out[address] = monitor
    return out


def _closure(roots: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        address = todo.pop()
        if address not in seen:
            seen.add(address)
            todo.extend(edges.get(address, ()))
    return seen


def canonical(text: str, known: Mapping[str, object]) -> str | None:
    """The address ``text`` names: as printed, ``Kind/name``/``kind.name``, ``file[path]``."""
    if text in known:
        return text
    file = _FILE.fullmatch(text.strip())
    if file:
        address = f'file["{file.group(1)}"]'
        return address if address in known else None
    document = _DOCUMENT.fullmatch(text.strip())
    if document and document.group(1).lower() in KINDS:
        address = f"{KINDS[document.group(1).lower()]}.{document.group(2)}"
        return address if address in known else None
    return None


def _resolve(
    flag: str, texts: Iterable[str], nodes: Mapping[str, _Node], environment: str
) -> tuple[list[str], list[str]]:
    """(addresses, errors): every unknown address is reported, with the closest known."""
    from mlform.schema_errors import suggestion

    found, errors = [], []
    for text in texts:
        address = canonical(text, nodes)
        if address is None:
            errors.append(
                f"{flag} {_quoted(text)}: no resource has this address in environment "
                f"'{environment}'{suggestion(text, sorted(nodes))}"
            )
        else:
            found.append(address)
    return found, errors


def select(
    desired: Mapping[str, Resource],
    recorded: Mapping[str, dict[str, Any]],
    request: Request,
    environment: str,
) -> frozenset[str]:
    """The addresses a plan with ``request`` covers (see the module's docstring)."""
    selector = parse(request.selector) if request.selector is not None else None
    nodes = _nodes(desired, recorded)
    targets, errors = _resolve("--target", request.targets, nodes, environment)
    excludes, more = _resolve("--exclude", request.excludes, nodes, environment)
    if errors or more:
        raise UserError(
            "\n".join(errors + more),
            hint="`mlform plan` lists every address; a spec document's Kind/name "
            "(Model/credit-risk) names its resource too.",
        )
    roots = set(targets)
    if selector is not None:
        roots |= {a for a, n in nodes.items() if n.type != "file" and selector.matches(n.labels)}
    if not request.targets and selector is None:
        roots = set(nodes)
    chosen = _closure(roots, {a: n.depends_on for a, n in nodes.items()})
    dependents: dict[str, list[str]] = {}
    for address, node in nodes.items():
        for dependency in node.depends_on:
            dependents.setdefault(dependency, []).append(address)
    gone = _closure(excludes, dependents)
    owned = owners(nodes)
    gone |= {f for f, owner in owned.items() if owner in gone}
    return frozenset(chosen - gone)


def total(desired: Mapping[str, Resource], recorded: Mapping[str, dict[str, Any]]) -> int:
    return len(set(desired) | set(recorded))


def narrow(plan: Plan, chosen: frozenset[str], request: Request, count: int) -> Plan:
    """``plan`` cut to the ``chosen`` addresses (a new Plan), recording its targeting."""
    left_out = tuple(c.address for c in plan.changes if c.is_change and c.address not in chosen)
    return replace(
        plan,
        changes=[c for c in plan.changes if c.address in chosen],
        drift=[d for d in plan.drift if d.address in chosen],
        problems=[p for p in plan.problems if not p.document or p.document in chosen],
        targeting=Targeting(request, len(chosen), count, left_out),
    )


def _quoted(text: str) -> str:
    """A flag's value as a shell would need it: quoted when it has more than a word."""
    shown = one_line(text)
    return shown if re.fullmatch(r"[A-Za-z0-9_./=:-]+", shown) else f"'{shown}'"
