"""mlform: the ML lifecycle as versioned YAML, compiled to real engines' configs and
reconciled like Terraform.

The programmatic API is what the command line calls::

    import mlform

    project = mlform.load("path/to/repo")          # SpecInvalid carries every diagnostic
    plan = mlform.plan("path/to/repo", env="prod")
    if plan.has_changes:
        done = mlform.apply("path/to/repo", env="prod", saved=plan, progress=print)
    print(mlform.status("path/to/repo", env="prod").health)

Heavy libraries are imported only by the code paths that need them; the API itself is
imported on first use (``mlform.plan``), so ``import mlform.cli`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mlform.errors import SpecInvalid, UserError
from mlform.version import __version__

if TYPE_CHECKING:
    from mlform.api import (
        Applied,
        apply,
        compile,
        destroy,
        load,
        monitor,
        plan,
        read_plan,
        retrain,
        retrain_check,
        retrain_due,
        status,
        validate,
    )


def __getattr__(name: str) -> object:
    """The API's functions, imported from mlform.api when first asked for."""
    if name in _API:
        return getattr(importlib.import_module("mlform.api"), name)
    raise AttributeError(f"module 'mlform' has no attribute {name!r}")


__all__ = [
    "Applied",
    "SpecInvalid",
    "UserError",
    "__version__",
    "apply",
    "compile",
    "destroy",
    "load",
    "monitor",
    "plan",
    "read_plan",
    "retrain",
    "retrain_check",
    "retrain_due",
    "status",
    "validate",
]

# What __getattr__ imports from mlform.api on first use: the API, less what is defined here.
_API = frozenset(__all__) - {"SpecInvalid", "UserError", "__version__"}
