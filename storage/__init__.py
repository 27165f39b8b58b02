"""Storage adapter: SQLAlchemy 2 async tables and repositories, Alembic migrations, blob stores."""
