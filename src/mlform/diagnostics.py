"""Diagnostics are values: collected from every file and document, then reported once.

Every diagnostic names where (file, line, column), what (a stable code), which document
(``Training 'credit-gbm'``) and which field (``spec.estimator.params``). Codes are listed in
``docs/diagnostics.md``; they never change meaning once released.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mlform.printable import one_line

Path_ = tuple[str | int, ...]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in the specs, located as precisely as the source allows."""

    severity: Severity
    file: str
    line: int
    column: int
    code: str
    summary: str
    document: str = ""
    field_path: str = ""

    def format(self) -> str:
        """The one-line form a person reads and an editor can jump to."""
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        parts = [f"{where}: {self.severity.value} {self.code}:"]
        if self.document:
            parts.append(f"{self.document}:")
        if self.field_path:
            parts.append(f"{self.field_path}:")
        parts.append(self.summary)
        return one_line(" ".join(parts))  # spec text: never a line (or escape) of its own

    def to_json(self) -> dict[str, Any]:
        """Terraform's ``validate -json`` diagnostic shape, plus our code and document."""
        return {
            "severity": self.severity.value,
            "code": self.code,
            "summary": self.summary,
            "detail": self.format(),
            "document": self.document,
            "field": self.field_path,
            "range": {
                "filename": self.file,
                "start": {"line": self.line, "column": self.column},
            },
        }


def format_path(path: Iterable[str | int]) -> str:
    """``("spec", "transforms", 0, "columns")`` → ``spec.transforms[0].columns``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass
class Diagnostics:
    """An ordered collection; reporting sorts errors before warnings, then by place."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.sorted())

    def __len__(self) -> int:
        return len(self.items)

    def sorted(self) -> list[Diagnostic]:
        rank = {Severity.ERROR: 0, Severity.WARNING: 1}
        unique = dict.fromkeys(self.items)
        return sorted(unique, key=lambda d: (rank[d.severity], d.file, d.line, d.column, d.code))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.sorted() if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.sorted() if d.severity is Severity.WARNING]

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)


Style = Callable[..., str]  # click.style, or nothing on a plain stream


def styled(diagnostic: Diagnostic, style: Style | None = None) -> str:
    """The one-line form, its severity and code colored when a ``style`` is given."""
    line = diagnostic.format()
    if style is None:
        return line
    color = "red" if diagnostic.severity is Severity.ERROR else "yellow"
    word = f"{diagnostic.severity.value} {diagnostic.code}"
    return line.replace(word, style(word, fg=color, bold=True), 1)


def report_text(diagnostics: Diagnostics) -> str:
    """All diagnostics, one per line, errors first."""
    return "\n".join(d.format() for d in diagnostics)


def report_json(diagnostics: Diagnostics) -> str:
    """Terraform-style ``{valid, error_count, warning_count, diagnostics[]}``."""
    errors, warnings = diagnostics.errors, diagnostics.warnings
    payload = {
        "format_version": "1.0",
        "valid": not errors,
        "error_count": len(errors),
        "warning_count": len(warnings),
        "diagnostics": [d.to_json() for d in (*errors, *warnings)],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
