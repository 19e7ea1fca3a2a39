"""The HTTP server: ``create_app(settings)`` builds a FastAPI app over the domains."""
