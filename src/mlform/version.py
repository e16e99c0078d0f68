"""mlform's version (imported by the modules that record it, without the API)."""

__version__ = "0.1.0"
