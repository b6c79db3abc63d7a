"""The HTTP and WebSocket API: routers, schemas, middleware and authentication dependencies."""
