"""Database access: engine/session factory, declarative base, column types and Alembic migrations."""
