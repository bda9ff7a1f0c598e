"""Persistence: SQLAlchemy models, the async engine, Alembic upgrades and the repository functions.

Everything that touches SQL lives here; services call `backend.db.repository` and never build queries.
"""
