"""The stand-in Hub fixtures (tests/support/hub_fixtures.py), for the `slmgen hub` commands."""

from tests.support.hub_fixtures import hub, read_back

__all__ = ["hub", "read_back"]
