"""Module manager: catalogs of installable modules, staged installs with rollback, operations
and instances (seed 004). The app wires it in through ``jobwerk.manager.router``."""
