"""Imported last by the conversion processes' fork server, never by the crawling process.

- **No ``__main__`` in the workers.** Python 3.11's fork server does not preload the parent's
  main module, so every worker would run it again (the CLI's or the server's whole import tree,
  private to each worker). The workers' jobs are functions of importable modules and never need
  it.
- **Frozen for the collector.** A collection writes to every object it visits, which would copy
  the memory each worker shares with the fork server into the worker; freezing keeps the
  preloaded modules' objects out of the workers' collections.
"""

import gc
import multiprocessing.spawn


def _keep_main(_: str) -> None:
    """In place of ``multiprocessing.spawn``'s re-import of the parent's main module."""


multiprocessing.spawn._fixup_main_from_path = _keep_main  # type: ignore[attr-defined]
multiprocessing.spawn._fixup_main_from_name = _keep_main  # type: ignore[attr-defined]
gc.freeze()
