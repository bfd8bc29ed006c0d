"""Storage adapters: SQLAlchemy Core tables, Alembic migrations, repositories."""
