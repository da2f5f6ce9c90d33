"""coopbot: a platform-agnostic co-operative governance bot (the core package)."""

__version__ = "0.1.0"
