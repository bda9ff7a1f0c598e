"""What every trainer of a run shares: progress into the task context, stop handling, the results file.

The runtime's progress callback reports one record per logged step; here each record becomes a metrics point
(`ctx.metrics(record, history=True)`) and the task's progress. A stop asked for through the task ends training
after the current step with a checkpoint saved; `finish_if_stopped` records that checkpoint as an artifact
and raises TaskCancelled, so the run ends CANCELLED with something to download.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backend.core.notebook import ResolvedConfig
from backend.core.training import runtime
from backend.services.tasks.context import TaskCancelled, TaskContext

RESULTS_FILE = "results.json"
CHECKPOINT_DIR = "checkpoints"


@dataclass(slots=True)
class RunSession:
    ctx: TaskContext
    task: str
    config: ResolvedConfig
    base_model: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    data_summary: dict[str, Any] = field(default_factory=dict)
    checkpoint_steps: int | None = None
    checkpoint_seconds: float | None = None
    held_out: frozenset[int] | None = None  # positions of a separate evaluation set among the examples

    @property
    def work_dir(self) -> Path:
        return self.ctx.work_dir

    @property
    def checkpoint_dir(self) -> Path:
        return self.work_dir / CHECKPOINT_DIR

    def trainer_arguments(self, device: str) -> dict[str, Any]:
        """The transformers TrainingArguments every Trainer-based run shares (classification, seq2seq): the
        config's figures, a log record per step, checkpoints saved by our callback (not the trainer's)."""
        config = self.config
        return {
            "output_dir": str(self.checkpoint_dir), "per_device_train_batch_size": config.batch_size,
            "per_device_eval_batch_size": config.batch_size, "gradient_accumulation_steps": config.grad_accum,
            "num_train_epochs": config.num_epochs, "max_steps": config.max_steps,
            "learning_rate": config.learning_rate, "warmup_steps": config.warmup_steps, "logging_steps": 1,
            "save_strategy": "no", "report_to": "none", "seed": config.seed,
            "include_num_input_tokens_seen": "non_padding", **runtime.precision(device),
        }

    def report(self, record: dict[str, Any]) -> None:
        clean = {key: value for key, value in record.items() if not isinstance(value, float) or math.isfinite(value)}
        self.history.append(clean)
        self.ctx.metrics(clean, history=True)
        if clean.get("max_steps"):
            self.ctx.progress(int(clean["step"]), int(clean["max_steps"]))

    def should_stop(self) -> bool:
        return self.ctx.cancel_requested

    def callback(self) -> Any:
        return runtime.make_progress_callback(self.report, self.should_stop)

    def callbacks(self, progress: Any) -> list[Any]:
        """The progress callback, and the one that keeps a checkpoint as often as the run asks."""
        from backend.services.training.checkpoints import make_checkpoint_callback

        return [progress, make_checkpoint_callback(self.checkpoint_steps, self.checkpoint_seconds, self.saved)]

    def saved(self, step: int, path: Path) -> None:
        """A checkpoint is complete: it is the run's (a worker lost from now on keeps it), with the history so far."""
        self.ctx.artifact("checkpoint", {"path": str(path.relative_to(self.work_dir)), "step": step})
        self.write_results({"checkpoint_step": step}, status="running")

    def split(self, positions: list[int], max_eval: int) -> tuple[list[int], list[int]]:
        """Train and evaluation rows: a separate evaluation set when the run has one, else eval_share of the
        rows (`positions`: the example each row came from)."""
        if self.held_out is not None:
            return runtime.split_at_positions(positions, self.held_out, max_eval)
        return runtime.split_indices(len(positions), self.config.eval_share, self.config.seed, max_eval)

    def finish_if_stopped(self, callback: Any) -> None:
        """After trainer.train(): when it stopped on request, keep its checkpoint and end CANCELLED."""
        step = callback.stopped_at
        if step is None:
            return
        checkpoint = self.checkpoint_dir / f"checkpoint-{step}"
        if checkpoint.is_dir():  # recorded by saved() already; said again in case the checkpoint callback was not on
            self.ctx.artifact("checkpoint", {"path": str(checkpoint.relative_to(self.work_dir)), "step": step})
        self.write_results({"stopped_at_step": step}, status="cancelled")
        self.ctx.status(f"Stopped at step {step} on request; checkpoint saved")
        raise TaskCancelled()

    def write_results(self, outcome: dict[str, Any], *, status: str = "done") -> str:
        """results.json: config, data, metrics history and the final figures; recorded as an artifact."""
        results = {
            "status": status,
            "task": self.task,
            "base_model": self.base_model,
            "config": asdict(self.config),
            "data": self.data_summary,
            "metrics_history": self.history,
            **outcome,
        }
        path = self.work_dir / RESULTS_FILE
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        self.ctx.artifact("results", {"path": RESULTS_FILE})
        return RESULTS_FILE

    def last_loss(self, key: str = "loss") -> float | None:
        values = [record[key] for record in self.history if key in record]
        return float(values[-1]) if values else None


def pick_device() -> tuple[str, bool]:
    """("cuda" | "cpu", whether Unsloth runs): Unsloth needs an NVIDIA GPU and its package."""
    import importlib.util

    import torch

    if torch.cuda.is_available():
        return "cuda", importlib.util.find_spec("unsloth") is not None
    return "cpu", False
