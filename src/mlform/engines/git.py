"""git, as mlform uses it: the current commit, the top level, the status of files, tags,
commits on the current branch or on a new one. Every call goes through ``process.run``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlform.engines import process
from mlform.errors import UserError

# mlform's name on commits and tags where git has no identity configured (a CI runner).
IDENTITY = {
    "GIT_AUTHOR_NAME": "mlform",
    "GIT_AUTHOR_EMAIL": "mlform@localhost",
    "GIT_COMMITTER_NAME": "mlform",
    "GIT_COMMITTER_EMAIL": "mlform@localhost",
}
_SEP, _END = "\x1f", "\x1e"


@dataclass(frozen=True)
class Ref:
    """One ref of ``for-each-ref``: its short name, the commit it points at, when it was
    created and its message (for annotated tags)."""

    name: str
    commit: str
    created: str
    message: str


class Git:
    """git in the repository that holds ``cwd``."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def run(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
        return process.run("git", args, cwd=self.cwd, env=env, check=check).stdout

    def ok(self, *args: str, env: dict[str, str] | None = None) -> bool:
        return process.run("git", args, cwd=self.cwd, env=env, check=False).ok

    # --- where we are ------------------------------------------------------------------
    def toplevel(self) -> Path | None:
        """The work tree's top folder; None outside a git repository."""
        done = process.run("git", ["rev-parse", "--show-toplevel"], cwd=self.cwd, check=False)
        return Path(done.stdout.strip()) if done.ok and done.stdout.strip() else None

    def head(self) -> str | None:
        """The current commit; None outside a repository or before the first commit."""
        done = process.run(
            "git", ["rev-parse", "--verify", "-q", "HEAD^{commit}"], cwd=self.cwd, check=False
        )
        return done.stdout.strip() or None if done.ok else None

    def require_head(self, why: str) -> str:
        head = self.head()
        if head is None:
            raise UserError(
                f"{why}, so the project must be a git repository with a first commit",
                hint="Run `git init` and commit your specs.",
            )
        return head

    def status(self, paths: list[str]) -> list[str]:
        """The given files (or folders) that differ from HEAD or are untracked."""
        out = self.run("status", "--porcelain", "--", *paths)
        return [line[3:] for line in out.splitlines() if line.strip()]

    def changed(self, since: str, until: str, path: str = ".") -> list[str] | None:
        """Files changed between two commits under ``path``; None when git cannot tell
        (a commit unknown to this clone)."""
        done = process.run(
            "git", ["diff", "--name-only", since, until, "--", path], cwd=self.cwd, check=False
        )
        return done.stdout.split() if done.ok else None

    def ignored(self, path: str) -> bool:
        """Whether .gitignore keeps ``path`` out of git."""
        return self.ok("check-ignore", "-q", "--", path)

    def config(self, key: str) -> str:
        done = process.run("git", ["config", key], cwd=self.cwd, check=False)
        return done.stdout.strip() if done.ok else ""

    def identity(self) -> dict[str, str]:
        """Environment for commits and tags: mlform's name where git has none."""
        return {} if self.config("user.email") else dict(IDENTITY)

    # --- refs --------------------------------------------------------------------------
    def refs(self, *patterns: str) -> list[Ref]:
        fields = [
            "%(refname:short)",
            "%(*objectname)",
            "%(objectname)",
            "%(creatordate:iso-strict)",
            "%(contents)",
        ]
        out = self.run("for-each-ref", f"--format={_SEP.join(fields)}{_END}", *patterns)
        refs = []
        for entry in out.split(_END):
            parts = entry.strip("\n").split(_SEP)
            if len(parts) == 5:
                name, peeled, obj, created, message = parts
                refs.append(Ref(name, peeled or obj, created, message))
        return refs

    def tag(self, name: str, message: str, commit: str) -> None:
        """An annotated tag."""
        self.run("tag", "-a", name, "-m", message, commit, env=self.identity())

    # --- commits -----------------------------------------------------------------------
    def commit(self, paths: list[str], message: str) -> str:
        """Commit exactly ``paths`` (whatever else is staged stays staged); the new HEAD."""
        self.run("add", "--", *paths)
        self.run("commit", "--quiet", "--only", "-m", message, "--", *paths, env=self.identity())
        return self.run("rev-parse", "HEAD").strip()

    def commit_all(self, message: str) -> None:
        self.run("add", "-A")
        self.run("commit", "-q", "-m", message, env=self.identity())

    def branch_commit(self, branch: str, paths: list[str], message: str, scratch: Path) -> str:
        """Commit ``paths`` as they are in the work tree onto a new branch off HEAD, through
        a throwaway index at ``scratch``: neither the current branch, the user's index nor
        the work tree is touched."""
        index = {"GIT_INDEX_FILE": str(scratch)}
        try:
            self.run("read-tree", "HEAD", env=index)
            self.run("add", "--", *paths, env=index)
            tree = self.run("write-tree", env=index).strip()
            commit = self.run(
                "commit-tree", tree, "-p", "HEAD", "-m", message, env=self.identity()
            ).strip()
            self.run("branch", branch, commit)
        finally:
            scratch.unlink(missing_ok=True)
        return commit

    def init(self, branch: str = "main") -> None:
        """A new repository whose first branch is ``branch`` (not init.defaultBranch)."""
        self.run("init", "-q", "-b", branch)

    @staticmethod
    def clone(source: Path, destination: Path) -> None:
        process.run("git", ["clone", "-q", str(source), str(destination)])


def scratch_index(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"index-{os.getpid()}"
