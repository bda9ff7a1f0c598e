"""The stand-in Hub fixtures (tests/support/hub_fixtures.py)."""

from tests.support.hub_fixtures import ctx, hub, read_back

__all__ = ["ctx", "hub", "read_back"]
