"""The notebook's eval split is leak-free: its own cells, run on the axolotl duplicates, never split a group."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from backend.core.analysis.store import iter_canonical, record_numbers
from backend.core.catalog import load_catalog
from backend.core.notebook import DataSource, TrainingConfig, plan_notebook, render_notebook
from backend.core.related import find_related
from tests.core.analysed import analyse
from tests.notebook.cells import cell_with, python_of

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"


def run_data_cells(nb: Any) -> dict[str, Any]:
    """Execute the runtime, parameters, dataset, load, prepare and split cells as the notebook would. Tokenizing
    is stood in for (one token per conversation): the split does not depend on the template, and this keeps the
    test free of a model download."""
    namespace: dict[str, Any] = {}
    for marker in ("def split_at_positions", "EVAL_SHARE = ", "DATASET_PAYLOAD = ", "def load_examples",
                   "source_positions = []"):
        exec(compile(python_of(cell_with(nb, marker)), marker, "exec"), namespace)  # noqa: S102
    namespace["tokenizer"] = SimpleNamespace(decode=lambda ids: "")
    namespace["tokenize_chat"] = lambda *_: {"input_ids": [1], "labels": [1], "length": 1, "cut": False}
    split = cell_with(nb, "train_at, eval_at = split_at_positions(")
    exec(compile(python_of(split), "split", "exec"), namespace)  # noqa: S102
    return namespace


def test_the_rendered_notebook_keeps_every_duplicate_group_on_one_side(tmp_path: Path) -> None:
    store, report = analyse(tmp_path, AXOLOTL)
    related = find_related(store)
    entry = load_catalog().get("smollm2-135m-instruct")
    plan = plan_notebook(entry, iter_canonical(store), report.profile(), TrainingConfig(),
                         record_numbers=record_numbers(store), example_groups=related.components().tolist())
    assert plan.stats.eval_positions is not None and 60 <= len(plan.stats.eval_positions) <= 140
    namespace = run_data_cells(render_notebook(plan))
    positions = namespace["source_positions"]  # the embedded line of each conversation (= store position here)
    train = {positions[i] for i in namespace["train_at"]}
    held_out = {positions[i] for i in namespace["eval_at"]}
    assert held_out == set(plan.stats.eval_positions) and len(train) + len(held_out) == 1000
    for group in [*related.exact, *related.near]:
        assert set(group) <= train or set(group) <= held_out, group


def test_without_groups_or_with_outside_data_the_split_is_random_as_before(tmp_path: Path) -> None:
    store, report = analyse(tmp_path, AXOLOTL)
    entry = load_catalog().get("smollm2-135m-instruct")
    plain = plan_notebook(entry, iter_canonical(store), report.profile(), TrainingConfig())
    assert plain.stats.eval_positions is None
    assert "DATASET_EVAL_POSITIONS = None" in cell_with(render_notebook(plain), "DATASET_PAYLOAD = ")
    hub = plan_notebook(entry, iter_canonical(store), report.profile(), TrainingConfig(),
                        DataSource(kind="hub", location="alice/bethpage"), example_groups=[0] * 1000)
    assert hub.stats.eval_positions is None  # positions would not describe data read from elsewhere
