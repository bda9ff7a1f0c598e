"""The HTTP edge: app factory, thin routers, schemas, the error table."""
