"""How results are printed: text for people (colored on a terminal), JSON for machines."""

from __future__ import annotations

import click

from mlform.diagnostics import Diagnostic, plural, report_json, styled
from mlform.validation import ValidationResult


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        click.echo(styled(d, click.style))


def print_validation(result: ValidationResult, output: str) -> None:
    diagnostics = result.diagnostics
    if output == "json":
        click.echo(report_json(diagnostics))
        return
    print_diagnostics(diagnostics.sorted())
    ws = result.workspace
    files, docs = plural(len(ws.files), "file"), plural(ws.document_count, "document")
    errors, warnings = len(diagnostics.errors), len(diagnostics.warnings)
    if errors:
        summary = f"Found {plural(errors, 'error')}"
        summary += f" and {plural(warnings, 'warning')}" if warnings else ""
        click.echo(click.style(f"{summary} in {docs} of {files}.", fg="red", bold=True))
    else:
        note = f" ({plural(warnings, 'warning')})" if warnings else ""
        verb = "is" if ws.document_count == 1 else "are"
        message = f"Success! {docs} in {files} {verb} valid{note}."
        click.echo(click.style(message, fg="green", bold=True))
