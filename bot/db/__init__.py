"""Storage: SQLAlchemy models, the engine and session factory."""
