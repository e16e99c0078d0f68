"""Rendered files this checkout wrote, by content: a copy of a cluster manifest left behind
by another runner's newer apply is stale, not edited by hand. Kept in
``.mlform/cache/written.json`` (this checkout's, never shared): for each file the sha256 of
its last few renders, by `mlform compile` and by `mlform apply`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from mlform.layout import LOCAL, local_dir

WRITTEN = Path(LOCAL) / "cache" / "written.json"


KEPT_WRITES = 8  # per file: the sha256 of its last few renders by this checkout


def remember_written(root: Path, files: dict[str, str]) -> None:
    """The sha256 (by project-relative path) of rendered files this checkout is about to
    write: remembered first, so a kill between this and the write leaves the old and the
    new content both known."""
    path = root / WRITTEN
    known = written(root)
    for name, sha in files.items():
        earlier = [s for s in known.get(name, []) if s != sha]
        known[name] = [*earlier, sha][-KEPT_WRITES:]
    local_dir(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".written.{os.getpid()}.json")
    temp.write_text(json.dumps(known, sort_keys=True))
    os.replace(temp, path)


def written(root: Path) -> dict[str, list[str]]:
    """What :func:`remember_written` kept (a lost or unreadable file: nothing)."""
    try:
        data = json.loads((root / WRITTEN).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(name): [shas] if isinstance(shas, str) else [str(s) for s in shas]
        for name, shas in data.items()
        if isinstance(shas, str | list)
    }


def remember_rendered(root: Path, files: Iterable[tuple[str, bytes]]) -> None:
    """:func:`remember_written` of (path, content) pairs (none: nothing is written)."""
    shas = {path: hashlib.sha256(data).hexdigest() for path, data in files}
    if shas:
        remember_written(root, shas)
