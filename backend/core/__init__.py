"""The domain, pure Python: no web framework, no database, no settings, no network.

Everything here takes plain values and returns plain values, so the API, the CLI and the
benchmarks all run the very same code.
"""
