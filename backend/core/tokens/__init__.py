"""Exact token counting, offline, with labelled estimates where a tokenizer cannot be had.

    counter = get_counter("cl100k_base")      # or "o200k_base", "qwen3", "llama-3.2", "smollm2",
    counter.count_batch(["Hello", "world"])   # or a Hugging Face repo id "owner/name"
    counter.info                              # TokenizerInfo: what counted, and whether exactly

See registry.py for where each tokenizer comes from (and how estimates are made),
openai_encodings.py for the offline tiktoken cache, hf_bridge.py for running Hugging Face BPE
tokenizers on tiktoken's engine, gguf_vocab.py for SmolLM2's tokenizer, chat.py for OpenAI's
per-message formula.
"""

from backend.core.tokens.chat import count_openai_chat_tokens
from backend.core.tokens.counter import TokenCounter, TokenizerInfo
from backend.core.tokens.registry import ESTIMATE_FACTORS, available_tokenizers, check_tokenizer_name, get_counter

__all__ = [
    "ESTIMATE_FACTORS",
    "TokenCounter",
    "TokenizerInfo",
    "available_tokenizers",
    "check_tokenizer_name",
    "count_openai_chat_tokens",
    "get_counter",
]
