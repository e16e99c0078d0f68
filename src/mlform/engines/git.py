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

    def run(
        self,
        *args: str,
        check: bool = True,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> str:
        return process.run("git", args, cwd=self.cwd, env=env, check=check, stdin=stdin).stdout

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

    def tracked(self, path: str) -> bool:
        """Whether ``path`` is in the index (committed or staged)."""
        return bool(self.run("ls-files", "--", path).strip())

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

    def snapshot(self, files: dict[str, Path], message: str) -> str:
        """A commit on top of HEAD: HEAD's tree with ``files`` (repository path → the file
        to take its bytes from) added or replaced, ignored or not. Neither the branch, the
        index nor the work tree changes."""
        head = self.require_head("a version is a tag on a commit")
        scratch = scratch_index(self.cwd / ".mlform")
        index = {"GIT_INDEX_FILE": str(scratch)}
        try:
            self.run("read-tree", head, env=index)
            for name, source in sorted(files.items()):
                blob = self.run("hash-object", "-w", "--", str(source)).strip()
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=index)
            tree = self.run("write-tree", env=index).strip()
        finally:
            scratch.unlink(missing_ok=True)
        if tree == self.run("rev-parse", f"{head}^{{tree}}").strip():
            return head  # HEAD holds these files already
        return self.run("commit-tree", tree, "-p", head, "-m", message, env=self.identity()).strip()

    def push_tag(self, remote: str, tag: str) -> bool:
        """Publish ``tag``; False when the remote already has a tag of that name."""
        done = process.run(
            "git",
            ["push", "--porcelain", "--quiet", remote, f"refs/tags/{tag}"],
            cwd=self.cwd,
            check=False,
        )
        if done.ok:
            return True
        if any(line.startswith("!") for line in done.stdout.splitlines()):
            return False
        raise process.CommandFailed(done.command, done.code, done.output)

    def init(self, branch: str = "main") -> None:
        """A new repository whose first branch is ``branch`` (not init.defaultBranch)."""
        self.run("init", "-q", "-b", branch)

    # --- refs on a remote: compare-and-swap by push ---------------------------------------
    def has_remote(self, name: str) -> bool:
        return self.ok("remote", "get-url", name)

    def remote_ref(self, remote: str, ref: str) -> str | None:
        """What ``ref`` points at on ``remote`` (one round trip), or None."""
        out = self.run("ls-remote", "--", remote, ref)
        for line in out.splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return None

    def fetch_ref(self, remote: str, ref: str) -> None:
        """``ref`` from ``remote`` into the same local ref (forced: the remote is the truth)."""
        self.run("fetch", "--quiet", "--no-tags", remote, f"+{ref}:{ref}")

    def fetch_ref_if_there(self, remote: str, ref: str) -> bool:
        """``fetch_ref``; False (not an error) when it fails, e.g. the ref was deleted
        on the remote since it was listed."""
        return self.ok("fetch", "--quiet", "--no-tags", remote, f"+{ref}:{ref}")

    def show(self, commit: str, path: str) -> str:
        return self.run("cat-file", "blob", f"{commit}:{path}")

    def has_object(self, sha: str) -> bool:
        return self.ok("cat-file", "-e", sha)

    def write_commit(self, files: dict[str, str], parent: str | None, message: str) -> str:
        """A commit of ``files`` alone (not of the work tree), on top of ``parent``."""
        entries = []
        for name, text in sorted(files.items()):
            blob = self.run("hash-object", "-w", "--stdin", stdin=text).strip()
            entries.append(f"100644 blob {blob}\t{name}\n")
        tree = self.run("mktree", stdin="".join(entries)).strip()
        parents = ["-p", parent] if parent else []
        return self.run("commit-tree", tree, *parents, "-m", message, env=self.identity()).strip()

    def tree_names(self, commit: str) -> list[str]:
        """The names of the files at the top of ``commit``'s tree."""
        return self.run("ls-tree", "--name-only", commit).splitlines()

    def blobs(self, commit: str, names: list[str]) -> list[str]:
        """The texts of ``names`` in ``commit``, from one ``cat-file --batch`` (ASCII files:
        the sizes it reports are bytes)."""
        if not names:
            return []
        out = self.run("cat-file", "--batch", stdin="".join(f"{commit}:{n}\n" for n in names))
        texts, at = [], 0
        for _ in names:
            header_end = out.index("\n", at)
            parts = out[at:header_end].split()
            if len(parts) != 3 or parts[1] != "blob":
                raise UserError(f"git cat-file could not read {commit}: {out[at:header_end]}")
            size = int(parts[2])
            texts.append(out[header_end + 1 : header_end + 1 + size])
            at = header_end + 1 + size + 1
        return texts

    def extend_commit(self, parent: str, files: dict[str, str], message: str) -> str:
        """A child of ``parent`` whose tree is the parent's plus ``files`` (only they are
        hashed and written)."""
        entries = self.run("ls-tree", parent).splitlines(keepends=True)
        for name, text in sorted(files.items()):
            blob = self.run("hash-object", "-w", "--stdin", stdin=text).strip()
            entries.append(f"100644 blob {blob}\t{name}\n")
        tree = self.run("mktree", stdin="".join(entries)).strip()
        return self.run(
            "commit-tree", tree, "-p", parent, "-m", message, env=self.identity()
        ).strip()

    def push_if(self, remote: str, ref: str, new: str | None, expected: str | None) -> bool:
        """Set (or with ``new`` None, delete) ``ref`` on ``remote`` only if it still points
        at ``expected`` (None: only if it does not exist). False when the remote moved; a
        UserError when the push fails for another reason."""
        lease = f"--force-with-lease={ref}:{expected or ''}"
        spec = f"{new}:{ref}" if new else f":{ref}"
        done = process.run(
            "git",
            ["push", "--porcelain", "--quiet", lease, remote, spec],
            cwd=self.cwd,
            check=False,
        )
        if done.ok:
            return True
        if any(line.startswith("!") for line in done.stdout.splitlines()):
            return False  # rejected: stale info, or the ref exists
        raise process.CommandFailed(done.command, done.code, done.output)

    @staticmethod
    def clone(source: Path, destination: Path) -> None:
        process.run("git", ["clone", "-q", str(source), str(destination)])


def scratch_index(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"index-{os.getpid()}"
