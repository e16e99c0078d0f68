"""Environment overlays: documents that patch the base specs for one environment.

An overlay file (listed in the Project's ``environments.<env>.overlays``) holds documents
with ``apiVersion``, ``kind`` and ``metadata.name``. A document naming a base document is
merged into it (JSON merge patch, RFC 7386: mappings merge key by key, lists and scalars
replace, ``null`` deletes); a document naming nothing in the base adds a document for this
environment only. Merged documents are validated again; their errors point at the overlay.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from mlform.diagnostics import Diagnostic, Diagnostics, Severity
from mlform.errors import UserError
from mlform.loader import RawDocument, load_file
from mlform.schema_errors import diagnostics_for, suggestion
from mlform.spec import KINDS, Project
from mlform.workspace import SpecDocument, Workspace, _document, display_path


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def apply_overlays(ws: Workspace, environment: str) -> Workspace:
    """A copy of the workspace with the environment's overlays applied (diagnostics added)."""
    project = ws.project
    if project is None or not isinstance(project.model, Project):
        return ws
    environments = project.model.spec.environments
    if environment not in environments:
        known = list(environments)
        raise UserError(
            f"unknown environment '{environment}'{suggestion(environment, known)}",
            hint=f"The Project declares: {', '.join(known) or 'no environments'}.",
        )
    result = replace(
        ws,
        documents=list(ws.documents),
        files=list(ws.files),
        diagnostics=Diagnostics(list(ws.diagnostics.items)),
    )
    kinds: set[str] = set()
    at = {(d.kind, d.name): i for i, d in enumerate(result.documents)}  # no scan per overlay
    for overlay in environments[environment].overlays:
        path = ws.root / overlay
        raws, problems = load_file(path, display_path(path))
        result.diagnostics.extend(problems)
        result.files.append(overlay)
        for raw in raws:
            _apply(result, raw, overlay, at)
            if isinstance(raw.data, dict) and isinstance(raw.data.get("kind"), str):
                kinds.add(raw.data["kind"])
    return replace(result, environment=environment, overlaid=frozenset(kinds))


def _apply(
    ws: Workspace, overlay: RawDocument, source: str, at: dict[tuple[str, str], int]
) -> None:
    data = overlay.data
    kind = data.get("kind") if isinstance(data, dict) else None
    metadata = data.get("metadata") if isinstance(data, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if kind not in KINDS or not isinstance(name, str):
        ws.diagnostics.add(
            Diagnostic(
                Severity.ERROR,
                overlay.file,
                overlay.start[0],
                overlay.start[1],
                "E120",
                "an overlay document needs a known kind and metadata.name",
            )
        )
        return
    position = at.get((kind, name))
    if position is None:  # a document for this environment only
        document = _document(ws, overlay, source)
        if document is not None:
            at[(document.kind, document.name)] = len(ws.documents)
            ws.documents.append(document)
        return
    base = ws.documents[position]
    merged = merge_patch(base.raw.data, data)
    model = KINDS[kind]
    try:
        validated = model.model_validate(merged)
    except ValidationError as error:
        ws.diagnostics.extend(diagnostics_for(overlay, f"{kind} '{name}' (overlay)", model, error))
        return
    raw = base.raw.with_data(merged)
    ws.documents[position] = SpecDocument(raw, validated, base.source)
