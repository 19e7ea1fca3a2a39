"""API clients: one implementation over two transports (HTTP, or the app in-process)."""
