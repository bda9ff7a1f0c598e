"""Training in the page against the real server (`slmgen serve` and its training worker) with a real tiny run
(SmolLM2-135M from the stand-in Hub, LoRA, 2 steps on CPU), at phone and laptop width: generate the notebook,
press "Train here", watch the run page's loss chart fill, download the adapter, see the model on the Models
page; and (laptop) stop a longer run, which ends stopped with its checkpoint downloadable."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    ARTIFACTS,
    LiveServer,
    Steps,
    horizontal_overflow,
    open_dataset,
    start_server,
    stop_server,
    upload_via_api,
)
from tests.browser.test_auth_history import sign_in_with_token
from tests.runs.conftest import model_hub  # noqa: F401 - the stand-in Hub serving SmolLM2's weights
from tests.support.hub_standin import HubStandIn

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DATA = "llamafactory_pr5606_openai_training_data_blank_lines.jsonl"
RUN_WAIT_MS = 900_000  # a guard against a hung run on a shared machine, not a performance limit


@pytest.fixture(scope="module")
def train_server(model_hub: HubStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:  # noqa: F811
    server = start_server(tmp_path_factory.mktemp("training-page"), ARTIFACTS / "training-server.log",
                          HF_ENDPOINT=model_hub.url, HF_HOME=str(model_hub.hf_home),  # type: ignore[attr-defined]
                          HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_PROGRESS_BARS="1", TRAINING_CPU_THREADS="1",
                          TASK_CANCEL_GRACE_SECONDS="120")
    yield server
    stop_server(server)


def open_settings(page: Page, server: LiveServer, token: str, max_steps: int) -> None:
    session_id = upload_via_api(server, DATA, token)
    page.goto(f"{server.base_url}/")
    page.wait_for_selector("body[data-ready=true]")
    sign_in_with_token(page, token)
    open_dataset(page, server, session_id, "?task=conversation&target=cloud&model=smollm2-135m-instruct")
    expect(page.locator("#train-section")).to_be_visible()
    page.fill("#train-max_steps", str(max_steps))
    page.fill("#train-max_seq_length", "256")
    page.locator("#generate-button").click()
    expect(page.locator("#download-link")).to_be_visible()


def test_train_here_watch_the_loss_download_and_see_the_model(page: Page, train_server: LiveServer, width: int,
                                                              steps: Steps) -> None:
    token = train_server.token(f"trainer-{width}")
    open_settings(page, train_server, token, max_steps=2)
    train_here = page.get_by_role("button", name="Train here")
    expect(train_here).to_be_visible()
    steps.shot("notebook-and-train-here")
    train_here.click()
    page.wait_for_url("**/#/run/*")
    expect(page.locator("#run-heading")).to_be_focused()
    expect(page.locator("#view-run")).to_have_attribute("data-state", "DONE", timeout=RUN_WAIT_MS)
    line = page.locator("#loss-line")
    expect(line).to_have_attribute("data-points", "2")
    expect(page.locator("#run-figures")).to_contain_text("2 of 2")
    expect(page.locator("#run-stop")).to_be_hidden()
    assert not horizontal_overflow(page), "the run page scrolls sideways"
    steps.shot("run-done")

    with page.expect_download() as download_info:
        page.locator("[data-download=adapter]").click()
    download = download_info.value
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
        names = archive.namelist()
    assert any(n.endswith("/adapter_config.json") for n in names) and any(
        n.endswith("/adapter_model.safetensors") for n in names), names

    page.locator("#nav-models").click()
    item = page.locator(".model-item[data-status=Ready]")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("generator")
    assert not horizontal_overflow(page), "the Models page scrolls sideways"
    steps.shot("models")
    item.get_by_role("link", name="Open its run").click()
    expect(page.locator("#view-run")).to_have_attribute("data-state", "DONE")


def test_stop_ends_the_run_with_its_checkpoint(page: Page, train_server: LiveServer, steps: Steps) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    token = train_server.token("stopper")
    open_settings(page, train_server, token, max_steps=400)
    page.get_by_role("button", name="Train here").click()
    page.wait_for_url("**/#/run/*")
    expect(page.locator("#loss-line")).to_be_visible(timeout=RUN_WAIT_MS)  # it has trained a step
    page.locator("#run-stop").click()
    expect(page.locator("#run-status")).to_contain_text("Stopping")
    expect(page.locator("#view-run")).to_have_attribute("data-state", "CANCELLED", timeout=RUN_WAIT_MS)
    expect(page.locator("[data-download=checkpoint]")).to_be_visible()
    steps.shot("stopped")
