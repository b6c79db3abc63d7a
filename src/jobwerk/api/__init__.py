"""The HTTP and WebSocket API: routers, schemas, middleware and the live views' state.

``jobwerk.app`` builds the application from the public modules (``routers``, ``ws``,
``middleware``, ``metrics``, ``apidocs``, ``schemas``) and the names below; the underscored modules
are this package's own.
"""

from jobwerk.api._cache import RunPages
from jobwerk.api._hub import JobsHub
from jobwerk.api._system import module_check_cache

__all__ = ["JobsHub", "RunPages", "module_check_cache"]
