"""The business: one package per area. Plain async Python and SQLAlchemy; no web or job code."""
