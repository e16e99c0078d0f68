"""mlform: the ML lifecycle as versioned YAML, compiled to real engines' configs.

The programmatic API mirrors the CLI; heavy libraries are imported only by the code paths
that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
