"""Module manager: catalogs of installable modules, staged installs with rollback, operations
and instances (seed 004). The app wires it in through ``jobwerk.manager.router``."""

from jobwerk.manager._loader import load_installed_from

__all__ = ["load_installed_from"]
