"""One module per family of rendered files; each returns RenderedFile values, writes nothing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the project root, POSIX style
    content: str
