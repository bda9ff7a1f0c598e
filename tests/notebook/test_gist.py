"""Open in Colab: a secret gist created through a fake GitHub API, and the Colab URL built from it."""

from __future__ import annotations

import json

import httpx
import pytest

from backend.core.errors import UnauthorizedError, UnavailableError
from backend.services.gist import publish_gist

NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "note": "caf\xc3\xa9"}'


def fake_github(status: int, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if status != 201:
            return httpx.Response(status, json={"message": "nope"})
        return httpx.Response(
            201,
            json={
                "id": "aa5a315d61ae9438b18d",
                "owner": {"login": "octocat"},
                "html_url": "https://gist.github.com/aa5a315d61ae9438b18d",
            },
        )

    return httpx.MockTransport(handle)


async def test_the_notebook_goes_to_a_secret_gist_and_colab_opens_that_gist() -> None:
    seen: list[httpx.Request] = []
    async with httpx.AsyncClient(transport=fake_github(201, seen)) as client:
        gist = await publish_gist(
            NOTEBOOK, "slmgen_x.ipynb", "ghp_token", client=client, api_url="http://127.0.0.1:9/api"
        )
    assert gist.colab_url == "https://colab.research.google.com/gist/octocat/aa5a315d61ae9438b18d"
    (request,) = seen
    assert request.method == "POST" and str(request.url) == "http://127.0.0.1:9/api/gists"
    assert request.headers["Authorization"] == "Bearer ghp_token"
    body = json.loads(request.content)
    assert body["public"] is False
    assert body["files"] == {"slmgen_x.ipynb": {"content": NOTEBOOK.decode("utf-8")}}


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, UnauthorizedError), (403, UnauthorizedError), (422, UnavailableError), (500, UnavailableError)],
)
async def test_github_refusals_become_clear_errors(status: int, error: type[Exception]) -> None:
    async with httpx.AsyncClient(transport=fake_github(status, [])) as client:
        with pytest.raises(error):
            await publish_gist(NOTEBOOK, "n.ipynb", "bad", client=client)
