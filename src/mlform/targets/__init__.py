"""One module per family of rendered files; each returns RenderedFile values, writes nothing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the project root, POSIX style
    content: str | bytes  # bytes for model files copied into a serving repository

    @property
    def data(self) -> bytes:
        return self.content.encode("utf-8") if isinstance(self.content, str) else self.content

    @property
    def text(self) -> str | None:
        return self.content if isinstance(self.content, str) else None
