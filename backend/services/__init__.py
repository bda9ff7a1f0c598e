"""Orchestration across core, database and storage: what a request or a CLI command does, end to end."""
