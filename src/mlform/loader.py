"""The only place YAML is parsed: safe, bounded, and keeping the line and column of every node.

Specs are untrusted input. This loader builds plain Python values (dict, list, str, int,
float, bool, None) straight from the YAML event stream — libyaml's C parser when installed,
ruamel.yaml's pure-Python parser otherwise — so no YAML constructor ever runs and no tag can
create an object. On top of the YAML 1.2 core schema it refuses what has no place in a spec:
duplicate keys, tags other than the core ones, alias expansion beyond a node budget
("billion laughs"), nesting beyond a depth bound, files over a size bound and bytes that are
not UTF-8.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlform.diagnostics import Diagnostic, Severity
from mlform.yaml_scalars import CORE, Mark, YamlError, resolve_plain, scalar, unsupported

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES_PER_FILE = 200_000  # after alias expansion
MAX_DEPTH = 64

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class RawDocument:
    """One YAML document of a spec file, as plain data plus where every node came from.

    Where the nodes are is found when first asked (by a diagnostic), by reading the text
    again: most documents of a big project are never asked, and recording every node's
    position costs a third of reading them. Likewise the plain data of a document that
    passed its schema is let go (``released``) and read again if asked: its model holds
    what everything downstream reads, and a 10,000-model project would hold both."""

    file: str
    index: int
    held: list[Any] = field(repr=False)  # [the data], or [] once released
    start: Mark
    text: str = field(repr=False)
    _marks: list[tuple[dict[Loc, Mark], dict[Loc, Mark]]] = field(
        default_factory=list, repr=False, compare=False
    )

    @property
    def data(self) -> Any:
        if not self.held:
            self.held.append(self._reread().held[0])
        return self.held[0]

    def released(self) -> RawDocument:
        """The same document without its data in memory."""
        return replace(self, held=[])

    def with_data(self, data: Any) -> RawDocument:
        """The same document (text, positions) holding other data: an overlay's merge."""
        return replace(self, held=[data])

    def _reread(self) -> RawDocument:
        return _Builder(self.text, self.file, located=True).documents()[self.index]

    @property
    def values(self) -> dict[Loc, Mark]:
        return self._located()[0]

    @property
    def keys(self) -> dict[Loc, Mark]:
        return self._located()[1]

    def _located(self) -> tuple[dict[Loc, Mark], dict[Loc, Mark]]:
        if not self._marks:
            try:
                located = self._reread()
            except (YamlError, IndexError):  # pragma: no cover - it was read once already
                self._marks.append(({}, {}))
            else:
                self._marks.append(located._marks[0])
        return self._marks[0]

    def mark(self, loc: Loc) -> Mark:
        """Where the value at ``loc`` starts, or its nearest located ancestor."""
        values = self.values
        while loc:
            if loc in values:
                return values[loc]
            loc = loc[:-1]
        return values.get((), self.start)

    def key_mark(self, loc: Loc) -> Mark:
        """Where the key naming ``loc`` starts (the value's mark for list items)."""
        return self.keys.get(loc) or self.mark(loc)


class _Relocate(Exception):
    """A duplicate key, found without positions: read again with them."""


class _Builder:
    """Turns one file's event stream into documents, with positions and bounds."""

    def __init__(self, text: str, file: str, located: bool) -> None:
        from ruamel.yaml import events

        self.text = text
        self.next = _events(text)
        self.file = file
        self.located = located  # record every node's position (else only the documents')
        self.nodes = 0
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.values: dict[Loc, Mark] = {}
        self.keys: dict[Loc, Mark] = {}
        self.diagnostics: list[Diagnostic] = []
        self.Scalar = events.ScalarEvent  # event classes, compared by identity
        self.Alias = events.AliasEvent
        self.SequenceStart = events.SequenceStartEvent
        self.SequenceEnd = events.SequenceEndEvent
        self.MappingStart = events.MappingStartEvent
        self.MappingEnd = events.MappingEndEvent
        self.DocumentStart = events.DocumentStartEvent
        self.DocumentEnd = events.DocumentEndEvent
        self.StreamEnd = events.StreamEndEvent

    def documents(self) -> list[RawDocument]:
        docs: list[RawDocument] = []
        while True:
            event = self.next()
            kind = type(event)
            if kind is self.StreamEnd:
                return docs
            if kind is not self.DocumentStart:
                continue
            self.values, self.keys, self.anchors = {}, {}, {}
            start = _mark(event)
            data = self._node(self.next(), (), 0)
            end = self.next()
            assert type(end) is self.DocumentEnd
            if data is None:
                continue  # an empty document, e.g. after a trailing '---'
            marks = [(self.values, self.keys)] if self.located else []
            docs.append(RawDocument(self.file, len(docs), [data], start, self.text, marks))

    def _count(self, amount: int, mark: Mark) -> None:
        self.nodes += amount
        if self.nodes > MAX_NODES_PER_FILE:
            raise YamlError(
                "E005",
                f"the file expands to more than {MAX_NODES_PER_FILE:,} nodes through aliases "
                "(a 'billion laughs' pattern); refusing to expand it",
                mark,
            )

    def _node(self, event: Any, loc: Loc, depth: int) -> Any:
        start = event.start_mark
        mark = (start.line + 1, start.column + 1)
        if depth > MAX_DEPTH:
            raise YamlError("E009", f"nesting is deeper than {MAX_DEPTH} levels", mark)
        kind = type(event)
        if self.located:
            self.values[loc] = mark
        if kind is self.Alias:
            if event.anchor not in self.anchors:
                raise YamlError(
                    "E001",
                    f"unknown alias '*{event.anchor}' (anchors are local to their document)",
                    mark,
                )
            value, size = self.anchors[event.anchor]
            self._count(size, mark)
            return value
        before = self.nodes
        self.nodes += 1
        if self.nodes > MAX_NODES_PER_FILE:
            self._count(0, mark)
        if kind is self.Scalar:
            tag = event.tag
            if tag is None and event.implicit[0]:
                value = resolve_plain(event.value)
            else:
                value = scalar(event.value, tag, bool(event.implicit[0]), mark)
        elif kind is self.MappingStart:
            self._collection_tag(event.tag, "map", mark)
            value = self._mapping(loc, depth)
        elif kind is self.SequenceStart:
            self._collection_tag(event.tag, "seq", mark)
            value = self._sequence(loc, depth)
        else:  # pragma: no cover - libyaml only emits the events above here
            raise YamlError("E001", f"unexpected YAML event {kind.__name__}", mark)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, self.nodes - before)
        return value

    @staticmethod
    def _collection_tag(tag: str | None, kind: str, mark: Mark) -> None:
        if tag not in (None, "!", CORE + kind):
            raise unsupported(tag, mark)

    def _sequence(self, loc: Loc, depth: int) -> list[Any]:
        items: list[Any] = []
        while True:
            event = self.next()
            kind = type(event)
            if kind is self.SequenceEnd:
                return items
            if kind is self.StreamEnd:  # pragma: no cover - the parser raises first
                raise YamlError("E001", "unterminated sequence", (0, 0))
            here = (*loc, len(items)) if self.located else loc
            items.append(self._node(event, here, depth + 1))

    def _mapping(self, loc: Loc, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        while True:
            event = self.next()
            kind = type(event)
            if kind is self.MappingEnd:
                return {**merged, **result} if merged else result
            if kind is self.StreamEnd:  # pragma: no cover - the parser raises first
                raise YamlError("E001", "unterminated mapping", (0, 0))
            if kind is not self.Scalar:
                raise YamlError("E001", "mapping keys must be plain strings", _mark(event))
            key = event.value
            value_event = self.next()
            if key == "<<" and event.implicit[0]:
                merged.update(self._merge(value_event, loc, depth))
                continue
            if key in result:
                if not self.located:
                    raise _Relocate  # to say where the first one was
                mark = _mark(event)
                first = self.keys[(*loc, key)]
                self.diagnostics.append(
                    Diagnostic(
                        Severity.ERROR,
                        self.file,
                        mark[0],
                        mark[1],
                        "E002",
                        f"duplicate key '{key}' (first defined at line {first[0]})",
                    )
                )
                self._node(value_event, (*loc, f"{key} (duplicate)"), depth + 1)
                continue
            if self.located:
                here = (*loc, key)
                start = event.start_mark
                self.keys[here] = (start.line + 1, start.column + 1)
                result[key] = self._node(value_event, here, depth + 1)
            else:
                result[key] = self._node(value_event, loc, depth + 1)

    def _merge(self, event: Any, loc: Loc, depth: int) -> dict[str, Any]:
        value = self._node(event, (*loc, "<<"), depth + 1)
        sources = value if isinstance(value, list) else [value]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, dict):
                raise YamlError("E001", "a merge key '<<' needs a mapping", _mark(event))
            merged.update(source)
        return merged


def _mark(event: Any) -> Mark:
    return (event.start_mark.line + 1, event.start_mark.column + 1)


def _events(text: str) -> Callable[[], Any]:
    """The parser's next-event function: libyaml's C parser, or ruamel.yaml's own."""
    try:
        from _ruamel_yaml_clibz import CParser
    except ImportError:  # pragma: no cover - exercised only without the C extension
        CParser = None
    if CParser is not None:
        get_event: Callable[[], Any] = CParser(text).get_event
        return get_event
    from ruamel.yaml import YAML  # pragma: no cover

    events: Iterator[Any] = iter(YAML(typ="safe", pure=True).parse(text))  # pragma: no cover
    return events.__next__  # pragma: no cover


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM) or a located E003."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise YamlError(
            "E003", f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x})", (line, column)
        ) from None


def parse(text: str, file: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Every document of a YAML text, or the diagnostics that stopped reading it."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    builder = _Builder(text, file, located=False)
    try:
        try:
            documents = builder.documents()
        except _Relocate:
            builder = _Builder(text, file, located=True)
            documents = builder.documents()
    except YamlError as exc:
        return [], [*builder.diagnostics, _diagnostic(file, exc.code, exc.message, exc.mark)]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        syntax = _diagnostic(file, "E001", _syntax_message(exc, text, where), where)
        return [], [*builder.diagnostics, syntax]
    except YAMLError as exc:  # pragma: no cover - unlocated parser errors are rare
        return [], [_diagnostic(file, "E001", f"invalid YAML: {exc}", (1, 1))]
    except RecursionError:
        return [], [_diagnostic(file, "E009", "the YAML is nested too deeply", (1, 1))]
    return documents, builder.diagnostics


def _syntax_message(exc: Any, text: str, where: Mark) -> str:
    problem = str(exc.problem or "invalid YAML").strip()
    lines = text.splitlines()
    line = lines[where[0] - 1] if 0 < where[0] <= len(lines) else ""
    if "\t" in line[: max(where[1], 1)] or "'\\t'" in problem:
        return "tab character in indentation: YAML indents with spaces only"
    context = f" {exc.context}" if exc.context else ""
    return f"invalid YAML: {problem}{context}"


def _diagnostic(file: str, code: str, message: str, mark: Mark) -> Diagnostic:
    return Diagnostic(Severity.ERROR, file, mark[0], mark[1], code, message)


def load_file(path: Path, display: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Read, bound-check, decode and parse one spec file."""
    try:
        with open(path, "rb") as handle:  # one open, its size from the descriptor
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                limit = MAX_FILE_BYTES // 1024
                message = f"the file is {size:,} bytes; spec files are limited to {limit} KiB"
                return [], [_diagnostic(display, "E004", message, (0, 0))]
            raw = handle.read()
    except OSError as exc:
        return [], [_diagnostic(display, "E010", f"cannot read file: {exc.strerror}", (0, 0))]
    try:
        text = decode(raw)
    except YamlError as exc:
        return [], [_diagnostic(display, exc.code, exc.message, exc.mark)]
    return parse(text, display)
