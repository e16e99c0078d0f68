"""The workspace files an accepted retrain replaces, kept until its commit is made, so a
failed commit leaves them byte for byte."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class Backup:
    """Copies of the files a retrain changes, restored exactly (including absence)."""

    def __init__(self, root: Path, folder: Path) -> None:
        self.root, self.folder = root, folder
        self.saved: dict[Path, Path | None] = {}

    def save(self, paths: list[Path]) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        for i, path in enumerate(paths):
            if path.is_file():
                copy = self.folder / f"{i}-{path.name}"
                try:  # the file is replaced, never written in place: a link keeps it
                    os.link(path, copy)
                except OSError:
                    shutil.copy2(path, copy)
                self.saved[path] = copy
            else:
                self.saved[path] = None

    def restore(self) -> None:
        for path, copy in self.saved.items():
            if copy is None:
                path.unlink(missing_ok=True)
            elif copy.is_file():
                temp = path.with_name(f".{path.name}.restore")
                shutil.copy2(copy, temp)
                os.replace(temp, path)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
