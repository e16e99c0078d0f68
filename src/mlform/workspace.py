"""Finding a project and reading its spec files into validated documents.

The root is the nearest directory holding ``mlform.yaml``; its Project document says which
folders hold specs. Every file is read (bounded, safely), every document is checked against
its kind's model, and every problem becomes a located diagnostic: nothing here raises for
bad input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from mlform.diagnostics import Diagnostic, Diagnostics, Severity
from mlform.errors import UserError
from mlform.loader import RawDocument, load_file
from mlform.schema_errors import describe, diagnostics_for, suggestion
from mlform.spec import API_VERSION, KIND_NAMES, Document, Project, kind_model
from mlform.spec.base import RELPATH_MAX

PROJECT_FILE = "mlform.yaml"
SPEC_SUFFIXES = (".yaml", ".yml")
# Files mlform writes or DVC owns; never specs.
NOT_SPECS = frozenset({"dvc.yaml", "dvc.lock", "params.yaml", ".pre-commit-config.yaml"})
SKIP_DIRS = frozenset({"node_modules", "venv", "__pycache__"})


@dataclass(frozen=True)
class SpecDocument:
    """A document that passed its kind's schema, with the source it came from."""

    raw: RawDocument
    model: Document
    source: str  # path relative to the project root, POSIX style

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def name(self) -> str:
        return self.model.metadata.name

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}'"


@dataclass
class Workspace:
    """Everything read from a project, valid or not."""

    root: Path
    documents: list[SpecDocument] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    document_count: int = 0
    # (kind, name) of documents that failed their checks, "*" where unknown: references to
    # them are not reported again as undefined.
    broken: set[tuple[str, str]] = field(default_factory=set)
    # A file that could not be parsed may define anything: references are not judged.
    unreadable: list[str] = field(default_factory=list)
    project_raw: RawDocument | None = None
    # the environment whose overlays were applied, and the kinds they patched or added
    environment: str | None = None
    overlaid: frozenset[str] = frozenset()
    shown_root: str | None = field(default=None, repr=False)  # the root as messages show it

    def shown(self, source: str) -> str:
        """``display_path`` of a file of the project, from its path below the root (the
        working directory resolved once, not once per file)."""
        if self.shown_root is None:
            self.shown_root = display_path(self.root)
        return source if self.shown_root == "." else f"{self.shown_root}/{source}"

    @property
    def project(self) -> SpecDocument | None:
        return next((d for d in self.documents if d.kind == "Project"), None)

    def of_kind(self, kind: str) -> list[SpecDocument]:
        return [d for d in self.documents if d.kind == kind]


def find_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` that holds ``mlform.yaml``."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for candidate in (here, *here.parents):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    raise UserError(
        f"no {PROJECT_FILE} found in {start} or any parent folder; "
        "run `mlform init` to create a project"
    )


def display_path(path: Path) -> str:
    """Relative to the working directory when below it (editors can jump), else absolute."""
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


NAME_MAX, PATH_MAX = 255, 4096  # Linux's limits, in bytes


def shown(value: str, limit: int = 60) -> str:
    """A path as a message quotes it: long ones cut in the middle."""
    return value if len(value) <= limit else f"{value[: limit // 2]}…{value[-limit // 2 :]}"


def too_long(value: str) -> str | None:
    """Why no file system could hold the path ``value``, or None."""
    longest = max((len(part.encode()) for part in value.split("/")), default=0)
    if longest > NAME_MAX:
        return f"'{shown(value)}' has a name of {longest} bytes; file names have at most {NAME_MAX}"
    if len(value.encode()) > PATH_MAX:
        return f"'{shown(value)}' is longer than {PATH_MAX} bytes"
    return None


def inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def read_workspace(start: Path) -> Workspace:
    """Read and schema-check every spec of the project containing ``start``."""
    root = find_root(start)
    ws = Workspace(root)
    project_docs = _read(ws, root / PROJECT_FILE)
    projects = [d for d in project_docs if d.kind == "Project"]
    project_failed = any(kind in ("Project", "*") for kind, _ in ws.broken)
    if not projects and PROJECT_FILE not in ws.unreadable and not project_failed:
        _error(ws, root / PROJECT_FILE, (1, 1), "E110", f"{PROJECT_FILE} needs a Project document")
    for extra in projects[1:]:
        mark = extra.raw.start
        _error(ws, root / PROJECT_FILE, mark, "E110", "a project has exactly one Project document")
    if projects and isinstance(projects[0].model, Project):
        specs = projects[0].model.spec.specs
    else:  # an invalid Project still says where the specs are, most of the time
        specs = _lenient_specs(ws.project_raw)
    outputs = _output_dirs(root, projects[0].model if projects else None)
    for path in _spec_files(ws, projects[0] if projects else None, specs, outputs):
        _read(ws, path)
    for doc in ws.documents:
        if doc.kind == "Project" and doc.source != PROJECT_FILE:
            mark = doc.raw.start
            _error(
                ws,
                root / doc.source,
                mark,
                "E110",
                f"the Project document belongs in {PROJECT_FILE}",
            )
    return ws


def _lenient_specs(raw: RawDocument | None) -> list[str]:
    spec = raw.data.get("spec") if raw is not None else None
    specs = spec.get("specs") if isinstance(spec, dict) else None
    if isinstance(specs, list) and specs and all(isinstance(s, str) for s in specs):
        return specs
    return ["."]


def _error(ws: Workspace, path: Path, mark: tuple[int, int], code: str, message: str) -> None:
    ws.diagnostics.add(
        Diagnostic(Severity.ERROR, display_path(path), mark[0], mark[1], code, message)
    )


def _output_dirs(root: Path, project: Document | None) -> frozenset[Path]:
    """Folders mlform writes (artifacts, rendered deployments and rules): never specs.

    An invalid Project still names them, most of the time: its defaults then apply."""
    if isinstance(project, Project):
        spec = project.spec
        dirs = (spec.artifacts, spec.deploy_dir, spec.monitoring.rules_dir)
    else:
        dirs = ("artifacts", "deploy", "monitoring/rules")
    return frozenset(root / d for d in dirs)


def _spec_files(
    ws: Workspace, project: SpecDocument | None, specs: list[str], outputs: frozenset[Path]
) -> list[Path]:
    """Spec files under the Project's `specs` entries, sorted, each once, never outside."""
    found: dict[Path, None] = {}
    for index, entry in enumerate(specs):
        target = ws.root / entry

        def fail(code: str, message: str, index: int = index) -> None:
            raw = project.raw if project else ws.project_raw
            mark = raw.mark(("spec", "specs", index)) if raw else (1, 1)
            label = project.label if project else ""
            ws.diagnostics.add(
                Diagnostic(
                    Severity.ERROR,
                    display_path(ws.root / PROJECT_FILE),
                    mark[0],
                    mark[1],
                    code,
                    message,
                    label,
                    f"spec.specs[{index}]",
                )
            )

        if len(entry) > RELPATH_MAX:
            continue  # the schema says so, at the entry
        problem = too_long(entry)
        if problem:
            fail("E006", problem)
            continue
        if Path(entry).is_absolute() or not inside(ws.root, target):
            fail("E006", f"'{shown(entry)}' leaves the project")
            continue
        try:
            if target.is_file():
                found[target] = None
            elif target.is_dir():
                for path in _walk(ws, target, outputs):
                    found[path] = None
            else:
                fail("E011", f"'{shown(entry)}' does not exist")
        except OSError as error:
            fail("E011", f"'{shown(entry)}' cannot be read: {error.strerror}")
    found.pop(ws.root / PROJECT_FILE, None)
    return sorted(found)


def _walk(ws: Workspace, top: Path, outputs: frozenset[Path]) -> list[Path]:
    """The spec files under ``top``, sorted by folder then name, as ``os.walk`` (symlinked
    folders are not walked into) but from ``os.scandir``'s entries: whether one is a
    symlink comes with the listing, not from a system call a file."""
    files: list[Path] = []
    pending = [top]
    while pending:
        here = pending.pop()
        try:
            with os.scandir(here) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue  # as os.walk: a folder that cannot be listed is passed over
        folders: list[Path] = []
        for entry in entries:
            name = entry.name
            path = here / name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if name.startswith(".") or name in SKIP_DIRS or path in outputs:
                    continue
                if entry.is_symlink():
                    if not inside(ws.root, path):
                        _error(
                            ws, path, (0, 0), "E006", "symlinked folder leaves the project; skipped"
                        )
                    continue  # os.walk does not follow symlinked folders either
                folders.append(path)
                continue
            if name.startswith(".") or name in NOT_SPECS or not name.endswith(SPEC_SUFFIXES):
                continue
            if entry.is_symlink() and not inside(ws.root, path):
                _error(ws, path, (0, 0), "E006", "symlink leaves the project; not read")
                continue
            files.append(path)
        pending.extend(reversed(folders))
    return files


def _read(ws: Workspace, path: Path) -> list[SpecDocument]:
    source = path.relative_to(ws.root).as_posix()
    shown = ws.shown(source)
    ws.files.append(source)
    raws, problems = load_file(path, shown)
    ws.diagnostics.extend(problems)
    if problems and not raws:
        ws.unreadable.append(source)
    if not raws and not problems:
        ws.diagnostics.add(
            Diagnostic(Severity.WARNING, shown, 0, 0, "W001", "the file holds no documents")
        )
    docs = []
    for raw in raws:
        ws.document_count += 1
        doc = _document(ws, raw, source)
        if doc is not None:
            docs.append(doc)
    ws.documents.extend(docs)
    return docs


def _document(ws: Workspace, raw: RawDocument, source: str) -> SpecDocument | None:
    """Envelope checks (apiVersion, kind), then the kind's schema."""
    data = raw.data

    def fail(code: str, message: str, loc: tuple[str, ...] = ()) -> None:
        mark = raw.mark(loc) if loc else raw.start
        ws.diagnostics.add(
            Diagnostic(Severity.ERROR, raw.file, mark[0], mark[1], code, message, where)
        )

    where = f"document {raw.index + 1}"
    name = None
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
        name = data["metadata"].get("name")
    if isinstance(data, dict) and data.get("kind") == "Project" and source == PROJECT_FILE:
        ws.project_raw = raw
    envelope_kind = data.get("kind") if isinstance(data, dict) else None
    broken = (
        envelope_kind if envelope_kind in KIND_NAMES else "*",
        name if isinstance(name, str) else "*",
    )
    if not isinstance(data, dict):
        fail(
            "E100",
            f"a document is a mapping with apiVersion, kind, metadata and spec; got {describe(data)}",
        )
        ws.broken.add(broken)
        return None
    kind = data.get("kind")
    if kind is None:
        fail("E100", "the document has no 'kind'; expected one of: " + ", ".join(KIND_NAMES))
        ws.broken.add(broken)
        return None
    if not isinstance(kind, str) or kind not in KIND_NAMES:
        hint = suggestion(kind, list(KIND_NAMES))
        shown = f"'{kind}'" if isinstance(kind, str) else describe(kind)
        fail("E101", f"unknown kind {shown}{hint}", ("kind",))
        ws.broken.add(broken)
        return None
    where = f"{kind} '{name}'" if isinstance(name, str) else f"{kind} (document {raw.index + 1})"
    version = data.get("apiVersion")
    if version != API_VERSION:
        if version is None:
            fail("E102", f"missing apiVersion; this mlform reads {API_VERSION}")
        else:
            shown = f"'{version}'" if isinstance(version, str) else describe(version)
            fail(
                "E102",
                f"unsupported apiVersion {shown}; this mlform reads {API_VERSION}",
                ("apiVersion",),
            )
        ws.broken.add(broken)
        return None
    model = kind_model(kind)
    try:
        document = model.model_validate(data)
    except ValidationError as exc:
        ws.diagnostics.extend(diagnostics_for(raw, where, model, exc))
        ws.broken.add(broken)
        return None
    return SpecDocument(raw.released(), document, source)
