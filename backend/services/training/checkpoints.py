"""Checkpoints a run keeps while it trains, so that a worker killed mid-run leaves one behind.

The runtime's trainers save nothing on their own (the notebook keeps its outputs in one folder at the end);
here a TrainerCallback asks the trainer to save every `every_steps` steps or `every_seconds` of training,
whichever comes first. A checkpoint folder counts once the trainer has written all of it: the callback then
drops a marker file in it, removes the older ones (one checkpoint is kept: the newest complete one) and
calls `on_saved(step, folder)`. A stop's checkpoint (the runtime's progress callback asks for it) goes the
same way. Readers take the newest folder that has the marker, never one being written.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

COMPLETE_MARKER = "slmgen-checkpoint.json"
PREFIX = "checkpoint-"


def make_checkpoint_callback(every_steps: int | None, every_seconds: float | None,
                             on_saved: Callable[[int, Path], None]) -> Any:
    from transformers import TrainerCallback

    class CheckpointCadence(TrainerCallback):
        def __init__(self) -> None:
            self.last_save = time.monotonic()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.last_save = time.monotonic()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            by_steps = every_steps is not None and state.global_step % every_steps == 0
            by_time = every_seconds is not None and time.monotonic() - self.last_save >= every_seconds
            if (by_steps or by_time) and state.global_step < state.max_steps:  # the last step saves the outputs
                control.should_save = True

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.last_save = time.monotonic()
            folder = Path(args.output_dir) / f"{PREFIX}{state.global_step}"
            if not folder.is_dir():
                return
            mark_complete(folder, state.global_step)
            prune_older(folder)
            on_saved(state.global_step, folder)

    return CheckpointCadence()


def mark_complete(folder: Path, step: int) -> None:
    (folder / COMPLETE_MARKER).write_text(json.dumps({"step": step, "saved_at": time.time()}) + "\n",
                                          encoding="utf-8")


def step_of(folder: Path) -> int:
    suffix = folder.name.removeprefix(PREFIX)
    return int(suffix) if suffix.isdigit() else -1


def prune_older(keep: Path) -> None:
    for other in keep.parent.glob(f"{PREFIX}*"):
        if other != keep and other.is_dir() and step_of(other) < step_of(keep):
            shutil.rmtree(other, ignore_errors=True)


def latest_checkpoint(checkpoints_dir: Path) -> tuple[int, Path] | None:
    """The newest complete checkpoint under a run's checkpoints folder, as (step, folder), or None."""
    if not checkpoints_dir.is_dir():
        return None
    complete = [(step_of(p), p) for p in checkpoints_dir.glob(f"{PREFIX}*") if (p / COMPLETE_MARKER).is_file()]
    return max(complete) if complete else None
