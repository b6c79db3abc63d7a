"""jobwerk: a self-hosted job server for shop integrations."""

__version__ = "0.1.0"
