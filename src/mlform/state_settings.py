"""Which state backend an environment uses: the Project's ``state`` (or the environment's
own), with ``backend: auto`` (the default) resolved for this repository — ``git`` when it
has the git remote ``state.git.remote`` (a team's clone: CI runners and laptops share the
state kept in the origin), ``local`` when it has none (a repository of one machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlform.engines.git import Git
from mlform.spec.project import StateBackend


def for_environment(
    spec: StateBackend, environments: dict[str, Any], environment: str | None
) -> StateBackend:
    """The environment's own backend settings, else the Project's."""
    own = getattr(environments.get(environment or ""), "state", None)
    return own if isinstance(own, StateBackend) else spec


def resolve(root: Path, config: StateBackend) -> StateBackend:
    """``config`` with ``auto`` replaced by the backend it means here."""
    if config.backend != "auto":
        return config
    shared = Git(root).has_remote(config.git.remote)
    return config.model_copy(update={"backend": "git" if shared else "local"})


def shared_git_remote(root: Path, config: StateBackend) -> str | None:
    """The git remote that holds the team's registry tags: with a shared backend, its git
    remote when this repository has it; with a local one, none (the registry stays here)."""
    resolved = resolve(root, config)
    if resolved.backend == "local":
        return None
    remote = resolved.git.remote
    return remote if Git(root).has_remote(remote) else None
