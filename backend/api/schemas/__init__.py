"""Request and response schemas (pydantic)."""
