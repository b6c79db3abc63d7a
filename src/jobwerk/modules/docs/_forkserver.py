"""Imported last by the conversion processes' fork server, never by the crawling process.

Freezing the garbage collector there keeps the preloaded modules' objects out of the workers'
collections: a collection writes to every object it visits, which would copy the memory each
worker shares with the fork server into the worker.
"""

import gc

gc.freeze()
