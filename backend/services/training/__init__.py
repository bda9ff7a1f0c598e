"""Training runs: the task body `run_training(ctx, payload)` and its trainers (chat SFT, classification, seq2seq,
DPO), all over the shared runtime in backend/core/training/runtime.py."""

from backend.services.training.task import run_training

__all__ = ["run_training"]
