"""Block-style YAML of plain data, byte for byte what ``to_yaml``'s PyYAML dumper writes, at
a fraction of its cost.

PyYAML builds a node graph of the data in Python before libyaml emits it: for the pipeline
files of a 10,000-model monorepo (~40 MB of YAML) that is most of what ``plan`` spends.
This writer emits the common case directly — mappings with plain string keys, lists,
numbers, booleans, null, and strings that are plain or quoted without question — and hands
every entry it is not sure of (a multi-line string, a key that is not a short plain string,
non-ASCII text, anything else) to PyYAML, whose text is indented into place. Equality with
PyYAML's output is a test (tests/test_render_emit.py), over generated data and every
example's rendered files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

# A string PyYAML writes plain in block context, when it does not read as anything else:
# printable ASCII without ':' or '#', starting with a letter, '_' or '/' (never an
# indicator, a digit or a dot: numbers, dates and '.inf' start so), not ending in a space.
_PLAIN = re.compile(r"[A-Za-z_/](?:[ -\"$-9;-~]{0,998}[!-\"$-9;-~])?")
MAX_KEY = 127  # a longer key is no longer a YAML "simple key"


class _Unsure(Exception):
    """An entry this writer leaves to PyYAML."""


class Writer:
    def __init__(
        self,
        fallback: Callable[[Any], str],
        ambiguous: re.Pattern[str],
        literal: Callable[[str], str] | None = None,
    ) -> None:
        self.fallback = fallback  # PyYAML's text of a value, with its final newline
        self.ambiguous = ambiguous  # strings the dumper single-quotes (YAML 1.1 readers)
        self.literal = literal  # what every string becomes first (the fallback does it too)
        self.scalars: dict[str, str] = {}
        self.done: list[str] = []  # the text of finished top entries, joined in chunks

    # --- scalars ---------------------------------------------------------------------
    def string(self, value: str) -> str:
        known = self.scalars.get(value)
        if known is not None:
            return known
        shown = value if self.literal is None else self.literal(value)
        if _PLAIN.fullmatch(shown) is None:
            raise _Unsure
        text = f"'{shown}'" if self.ambiguous.match(shown) else shown
        self.scalars[value] = text
        return text

    def scalar(self, value: Any) -> str:
        if type(value) is str:
            return self.string(value)
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if type(value) is int:
            return str(value)
        if type(value) is float:
            return _float(value)
        raise _Unsure

    def key(self, value: Any) -> str:
        if type(value) is not str:
            raise _Unsure
        if len(value if self.literal is None else self.literal(value)) > MAX_KEY:
            raise _Unsure
        return self.string(value)

    # --- collections -------------------------------------------------------------------
    def mapping(self, data: dict[Any, Any], indent: int, out: list[str]) -> None:
        """The entries of a non-empty mapping that starts on a line of its own."""
        pad = " " * indent
        known = self.scalars
        for key, value in data.items():
            mark = len(out)
            try:
                shown = known.get(key) if type(key) is str else None
                if shown is None:
                    shown = self.key(key)
                kind = type(value)
                if kind is str:  # the common case first, in one line
                    text = known.get(value)
                    out.append(f"{pad}{shown}: {text or self.string(value)}\n")
                else:
                    out.append(f"{pad}{shown}:")
                    self.value(value, indent, out, nested=indent + 2)
            except _Unsure:
                del out[mark:]
                out.append(self._handed(self.fallback({key: value}), pad))
            if indent <= 2 and len(out) > 4096:
                # Nothing rolls back past a finished entry of the two top levels (a stage,
                # a params section): its lines become one string, so the pieces of a
                # 40 MB file never live at once.
                self.done.append("".join(out))
                out.clear()

    def value(self, value: Any, indent: int, out: list[str], nested: int) -> None:
        """What follows ``key:`` (at ``indent``)."""
        kind = type(value)
        if kind is dict:
            if not value:
                out[-1] += " {}\n"
                return
            out[-1] += "\n"
            self.mapping(value, nested, out)
        elif kind is list:
            if not value:
                out[-1] += " []\n"
                return
            out[-1] += "\n"
            self.sequence(value, indent, out)  # PyYAML's sequences in mappings: indentless
        else:
            out[-1] += f" {self.scalar(value)}\n"

    def sequence(self, items: list[Any], indent: int, out: list[str]) -> None:
        pad = " " * indent
        known = self.scalars
        for item in items:
            if type(item) is str:
                text = known.get(item)
                if text is not None:
                    out.append(f"{pad}- {text}\n")
                    continue
            mark = len(out)
            try:
                self.item(item, indent, out)
            except _Unsure:
                del out[mark:]
                out.append(self._handed(self.fallback([item]), pad))

    def item(self, item: Any, indent: int, out: list[str]) -> None:
        pad = " " * indent
        if type(item) is dict and item:
            first = True
            for key, value in item.items():
                out.append(f"{pad}- {self.key(key)}:" if first else f"{pad}  {self.key(key)}:")
                self.value(value, indent + 2, out, nested=indent + 4)
                first = False
        elif type(item) is list and item:
            raise _Unsure  # a list in a list: rare in rendered files
        elif type(item) is dict or type(item) is list:
            out.append(f"{pad}- {'{}' if type(item) is dict else '[]'}\n")
        else:
            out.append(f"{pad}- {self.scalar(item)}\n")

    @staticmethod
    def _handed(text: str, pad: str) -> str:
        """PyYAML's text of an entry, moved to this indentation (empty lines stay empty)."""
        if not pad:
            return text
        return "".join(pad + line if line.strip("\n") else line for line in text.splitlines(True))


def _float(value: float) -> str:
    """PyYAML's SafeRepresenter.represent_float."""
    if math.isnan(value):
        return ".nan"
    if value == float("inf"):
        return ".inf"
    if value == float("-inf"):
        return "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def block_yaml(
    data: Any,
    fallback: Callable[[Any], str],
    ambiguous: re.Pattern[str],
    literal: Callable[[str], str] | None = None,
) -> str:
    """``data`` as PyYAML's block style writes it, with its final newline; ``fallback`` is
    that dumper (for a whole document it is not sure of, or one entry). ``literal``: what
    each string (key or value) becomes before it is written, as ``fallback`` does it."""
    if not isinstance(data, dict) or not data:
        return fallback(data)
    out: list[str] = []
    writer = Writer(fallback, ambiguous, literal)
    writer.mapping(data, 0, out)
    return "".join([*writer.done, *out])
